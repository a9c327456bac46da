"""Does a project checkpoint run better with its own input convention or with the release's? The held-out
demo sequence through the estimator with ground-truth boxes, once per ``input_convention`` (whole image,
crops and KPE boxes prepared the ``wildhands_v1`` way and the ``release`` way), side by side in one run.

    scripts/wh python benchmarks/input_convention.py [--frames 90] [--checkpoint CKPT]

A checkpoint records the convention it was trained with and the estimator always uses that one; this
benchmark overrides it only to measure what the other would give.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import held_out

from wildhands_core.config import INPUT_CONVENTIONS
from wildhands_core.demo_model import default_model_dir
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_ros.demo.report import compute_metrics


def run(frames: int, checkpoint: Path, size: tuple[int, int], seed: int | None = None
        ) -> dict[str, dict[str, float]]:
    seq, rendered, truth = held_out.render(frames, size, seed)
    est = HandPoseEstimator(EstimatorConfig(checkpoint=str(checkpoint), backend="onnxruntime", max_hands=2))
    own = est.input_convention
    results = {}
    for convention in INPUT_CONVENTIONS:
        est.input_convention = convention
        published = {}
        for i, f in enumerate(rendered):
            ests = est.estimate(f.image, seq.K_px, held_out.truth_boxes(truth, i))
            published[i] = held_out.as_published(ests)
        m = compute_metrics(truth, published, published, frames, 0, frames / 30.0, [], len(published))
        name = f"{convention}{' (trained with)' if convention == own else ''}"
        results[name] = {k: m[k] for k in ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "kp2d_error_px")}
    return results


def main(argv: list[str] | None = None) -> int:
    ap = held_out.argument_parser(__doc__)
    ap.add_argument("--checkpoint", default=None)
    args = ap.parse_args(argv)
    ckpt = Path(args.checkpoint) if args.checkpoint else default_model_dir() / "wildhands_demo.pt"
    results = run(args.frames, ckpt, held_out.parse_size(args.size), args.seed)
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
