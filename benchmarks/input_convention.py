"""Does a project checkpoint run better with its own input convention or with the release's? The held-out
demo sequence through the estimator with ground-truth boxes, once per ``input_convention`` (whole image,
crops and KPE boxes prepared the ``wildhands_v1`` way and the ``release`` way), side by side in one run.

    scripts/wh python benchmarks/input_convention.py [--frames 90] [--checkpoint CKPT]

A checkpoint records the convention it was trained with and the estimator always uses that one; this
benchmark overrides it only to measure what the other would give.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from wildhands_core.config import INPUT_CONVENTIONS
from wildhands_core.demo_model import default_model_dir
from wildhands_core.estimate import HandBox
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_ros.demo.report import compute_metrics
from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence


def run(frames: int, checkpoint: Path, size: tuple[int, int]) -> dict[str, dict[str, float]]:
    seq = SyntheticSequence(DEMO_SEED, size, threads=1)
    rendered = list(seq.frames(frames))
    truth = {k: np.stack([f.labels[k] for f in rendered]) for k in rendered[0].labels}
    est = HandPoseEstimator(EstimatorConfig(checkpoint=str(checkpoint), backend="onnxruntime", max_hands=2))
    own = est.input_convention
    results = {}
    for convention in INPUT_CONVENTIONS:
        est.input_convention = convention
        published = {}
        for i, f in enumerate(rendered):
            boxes = [HandBox(truth["box_xyxy_px"][i, s], s == 0) for s in (0, 1) if truth["present"][i, s]]
            ests = est.estimate(f.image, seq.K_px, boxes)
            published[i] = {("right" if e.is_right else "left"): {"joints_m": e.joints_m,
                                                                   "keypoints_px": e.keypoints_px}
                            for e in ests}
        m = compute_metrics(truth, published, published, frames, 0, frames / 30.0, [], len(published))
        name = f"{convention}{' (trained with)' if convention == own else ''}"
        results[name] = {k: m[k] for k in ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "kp2d_error_px")}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    ckpt = Path(args.checkpoint) if args.checkpoint else default_model_dir() / "wildhands_demo.pt"
    results = run(args.frames, ckpt, (w, h))
    print(f"{ckpt.name}, {args.frames} held-out frames, ground-truth boxes")
    print(f"{'input convention':<28}{'MPJPE mm':>10}{'PA-MPJPE':>10}{'MRRPE mm':>10}{'2D px':>8}")
    for name, r in results.items():
        print(f"{name:<28}{r['mpjpe_mm']:>10.1f}{r['pa_mpjpe_mm']:>10.1f}{r['mrrpe_mm']:>10.1f}"
              f"{r['kp2d_error_px']:>8.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
