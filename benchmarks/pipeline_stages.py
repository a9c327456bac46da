"""Where the demo's accuracy goes: the same held-out sequence through the estimator with ground-truth boxes,
with the detector's boxes (no tracking), and through the full pipeline (detector + tracker + smoothing),
side by side in one run, offline (every frame processed, no ROS, no drops).

    scripts/wh python benchmarks/pipeline_stages.py [--frames 90] [--model-dir models/demo] [--json out.json]
        [--checkpoint runs/demo_cached/last.pt] [--seed 90001]

Prints, per stage: root-relative MPJPE, PA-MPJPE, MRRPE (mm), 2D error (px), the share of true hands that
got an estimate of their side, and the share of estimates whose side is wrong (their box overlaps the other
true hand better), and the jitter of the unsmoothed right hand as a multiple of the truth's
(``jitter_x_truth``; with ground-truth boxes: the network's own frame-to-frame noise). Metrics as in
``wildhands_ros.demo.report`` (estimates matched to the true hand of the same side). ``--checkpoint`` scores
another estimator checkpoint with the model directory's detector; ``--seed`` another held-out sequence.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import held_out

from wildhands_core.demo_model import default_model_dir
from wildhands_core.detection import box_iou_xyxy
from wildhands_core.estimate import HandEstimate
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.pipeline import HandPipeline, PipelineConfig
from wildhands_core.stamps import frame_stamp_ns
from wildhands_core.tracking import TrackerConfig
from wildhands_ros.demo.report import compute_metrics


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


def run(frames: int, model_dir: Path, size: tuple[int, int], checkpoint: Path | None = None,
        seed: int | None = None) -> dict[str, dict[str, float]]:
    seq, rendered, truth = held_out.render(frames, size, seed)
    K = seq.K_px
    est = HandPoseEstimator(EstimatorConfig(checkpoint=str(checkpoint or model_dir / "wildhands_demo.pt"),
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
            stamp = frame_stamp_ns(i, 30.0)
            if pipe is None:
                ests = est.estimate(f.image, K, held_out.truth_boxes(truth, i))
                raw_ests = ests
            else:
                ests = pipe.process(f.image, K, stamp)
                raw_ests = pipe.last_raw if pipe.config.tracking else ests
            w, n = _side_errors(ests, truth, i)
            wrong, n_est = wrong + w, n_est + n
            published[i], raw[i] = held_out.as_published(ests), held_out.as_published(raw_ests)
        m = compute_metrics(truth, published, raw, frames, 0, frames / 30.0, [], len(published))
        true_hands = int(truth["present"].sum())
        found = sum(int(side in published[i] and bool(truth["present"][i, s]))
                    for i in published for s, side in ((0, "right"), (1, "left")))
        results[name] = {
            "mpjpe_mm": m["mpjpe_mm"], "pa_mpjpe_mm": m["pa_mpjpe_mm"], "mrrpe_mm": m["mrrpe_mm"],
            "kp2d_error_px": m["kp2d_error_px"], "hands_found": found / max(true_hands, 1),
            "side_wrong": wrong / max(n_est, 1),
            "jitter_x_truth": m["jitter_raw_mm_s2"] / m["jitter_truth_mm_s2"],
        }
    return results


def main(argv: list[str] | None = None) -> int:
    ap = held_out.argument_parser(__doc__)
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--checkpoint", default=None, help="estimator checkpoint (default: MODEL_DIR's)")
    a = ap.parse_args(argv)
    model_dir = Path(a.model_dir) if a.model_dir else default_model_dir()
    ckpt = Path(a.checkpoint) if a.checkpoint else None
    res = run(a.frames, model_dir, held_out.parse_size(a.size), ckpt, a.seed)
    cols = ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "kp2d_error_px", "hands_found", "side_wrong",
            "jitter_x_truth")
    print(f"{'stage':<10}" + "".join(f"{c:>15}" for c in cols))
    for name, r in res.items():
        print(f"{name:<10}" + "".join(f"{r[c]:>15.3g}" for c in cols))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
