"""Where the demo's accuracy goes: the same held-out sequence through the estimator with ground-truth boxes,
with the detector's boxes (no tracking), and through the full pipeline (detector + tracker + smoothing),
side by side in one run, offline (every frame processed, no ROS, no drops).

    scripts/wh python benchmarks/pipeline_stages.py [--frames 90] [--model-dir models/demo] [--json out.json]

Prints, per stage: root-relative MPJPE, PA-MPJPE, MRRPE (mm), 2D error (px), the share of true hands that
got an estimate of their side, and the share of estimates whose side is wrong (their box overlaps the other
true hand better). Metrics as in ``wildhands_ros.demo.report`` (estimates matched to the true hand of the
same side).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wildhands_core.demo_model import default_model_dir
from wildhands_core.detection import box_iou_xyxy
from wildhands_core.estimate import HandBox, HandEstimate
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.pipeline import HandPipeline, PipelineConfig
from wildhands_core.tracking import TrackerConfig
from wildhands_ros.demo.report import compute_metrics
from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence


def _side_errors(ests: list[HandEstimate], truth: dict, i: int) -> tuple[int, int]:
    """(estimates whose box overlaps the other side's true hand better than their own side's, estimates)."""
    wrong = 0
    for e in ests:
        ious = [float(box_iou_xyxy(e.box_xyxy_px, truth["box_xyxy_px"][i, s])[0, 0]) if truth["present"][i, s]
                else -1.0 for s in (0, 1)]
        own = 0 if e.is_right else 1
        if ious[1 - own] > max(ious[own], 0.0):
            wrong += 1
    return wrong, len(ests)


def _as_published(ests: list[HandEstimate]) -> dict:
    out: dict = {}
    for e in sorted(ests, key=lambda e: -e.confidence):
        side = "right" if e.is_right else "left"
        out.setdefault(side, {"joints_m": e.joints_m, "keypoints_px": e.keypoints_px})
    return out


def run(frames: int, model_dir: Path, size: tuple[int, int]) -> dict[str, dict[str, float]]:
    seq = SyntheticSequence(DEMO_SEED, size, threads=1)
    rendered = list(seq.frames(frames))
    truth = {k: np.stack([f.labels[k] for f in rendered]) for k in rendered[0].labels}
    K = seq.K_px
    est = HandPoseEstimator(EstimatorConfig(checkpoint=str(model_dir / "wildhands_demo.pt"),
                                            backend="onnxruntime", max_hands=2))
    det_ckpt = str(model_dir / "detector_demo.pt")
    # as the demo's node parameters: detector.min_score 0.25 is both the detector's and the tracker's floor
    cfg = dict(detector_sources=("learned",), learned_detector_checkpoint=det_ckpt, detector_min_score=0.25,
               tracker=TrackerConfig(min_detection_score=0.25))
    stages = {
        "gt boxes": None,
        "detector": HandPipeline(est, PipelineConfig(**cfg, tracking=False)),
        "pipeline": HandPipeline(est, PipelineConfig(**cfg)),
    }
    results = {}
    for name, pipe in stages.items():
        published, raw, wrong, n_est = {}, {}, 0, 0
        for i, f in enumerate(rendered):
            stamp = int(i * 1e9 / 30)
            if pipe is None:
                boxes = [HandBox(truth["box_xyxy_px"][i, s], s == 0)
                         for s in (0, 1) if truth["present"][i, s]]
                ests = est.estimate(f.image, K, boxes)
                raw_ests = ests
            else:
                ests = pipe.process(f.image, K, stamp)
                raw_ests = pipe.last_raw if pipe.config.tracking else ests
            w, n = _side_errors(ests, truth, i)
            wrong, n_est = wrong + w, n_est + n
            published[i], raw[i] = _as_published(ests), _as_published(raw_ests)
        m = compute_metrics(truth, published, raw, frames, 0, frames / 30.0, [], len(published))
        true_hands = int(truth["present"].sum())
        found = sum(int(side in published[i] and bool(truth["present"][i, s]))
                    for i in published for s, side in ((0, "right"), (1, "left")))
        results[name] = {
            "mpjpe_mm": m["mpjpe_mm"], "pa_mpjpe_mm": m["pa_mpjpe_mm"], "mrrpe_mm": m["mrrpe_mm"],
            "kp2d_error_px": m["kp2d_error_px"], "hands_found": found / max(true_hands, 1),
            "side_wrong": wrong / max(n_est, 1),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    size = tuple(int(v) for v in a.size.split("x"))
    res = run(a.frames, Path(a.model_dir) if a.model_dir else default_model_dir(), size)  # type: ignore[arg-type]
    cols = ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "kp2d_error_px", "hands_found", "side_wrong")
    print(f"{'stage':<10}" + "".join(f"{c:>15}" for c in cols))
    for name, r in res.items():
        print(f"{name:<10}" + "".join(f"{r[c]:>15.3g}" for c in cols))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
