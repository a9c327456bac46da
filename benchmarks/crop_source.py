"""Crops from the 224 letterboxed image (release) vs from the full-resolution image: accuracy and cost,
side by side in one run, on held-out synthetic frames with ground-truth boxes.

    scripts/wh python benchmarks/crop_source.py --checkpoint models/demo/wildhands_demo.pt \
        --data DIR [--frames 100] [--json out.json]

DIR: a `wildhands-synth` set, e.g. `wildhands-synth --out /tmp/e --frames 100 --seed 777 --size 640x480`.
Prints MPJPE / PA-MPJPE / MRRPE / 2D error and the pre-processing time per frame for both crop sources.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from training.datasets.synthetic import SyntheticHandsDataset
from training.evaluate import checkpoint_crop_scale, evaluate_dataset
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    ds = SyntheticHandsDataset(a.data)
    scale = checkpoint_crop_scale(a.checkpoint)
    rows = {}
    for source in ("whole224", "full"):
        est = HandPoseEstimator(EstimatorConfig(checkpoint=a.checkpoint, crop_source=source, crop_scale=scale,
                                                max_hands=8))
        t0 = time.perf_counter()
        metrics = evaluate_dataset(est, ds, max_frames=a.frames)
        metrics["seconds"] = time.perf_counter() - t0
        s = ds[0]
        from wildhands_core.estimate import HandBox

        box = [HandBox(s.box_xyxy_px, s.is_right)]
        t1 = time.perf_counter()
        for _ in range(20):
            est.prepare([(s.image, s.K_px, box)])
        metrics["preprocess_ms_per_frame_1_hand"] = (time.perf_counter() - t1) / 20 * 1e3
        rows[source] = metrics
    keys = sorted({k for m in rows.values() for k in m})
    print(f"{'metric':<36}{'whole224 (release)':>20}{'full resolution':>18}")
    nan = float("nan")
    for k in keys:
        print(f"{k:<36}{rows['whole224'].get(k, nan):>20.2f}{rows['full'].get(k, nan):>18.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
