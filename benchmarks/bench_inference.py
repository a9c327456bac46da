"""Inference benchmark: latency per backend at batch 1, 2 and 4 hands (one frame), side by side in one run.

    scripts/wh python benchmarks/bench_inference.py [--checkpoint F] [--backbone resnet50] [--json out.json]

Prints, per backend and batch: median and p90 latency of the network call (whole image + N crops ->
3D hands), the ratio to torch eager at the same batch, and peak memory (process RSS high-water mark on
CPU; torch.cuda.max_memory_allocated on CUDA); then the pre- and post-processing cost per hand (letterbox,
crops, normalisation, result assembly) and its share of the model time at batch 2. Without --checkpoint a
randomly initialised network of the chosen trunk is timed (same cost as trained weights).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from wildhands_core.config import ModelConfig
from wildhands_core.estimate import HandBox
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.model.wildhands import WildHands
from wildhands_core.model.wildhands_net import WildHandsNet


def _timeit(fn, repeats: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _frame(width: int, height: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    K = np.array([[0.8 * width, 0, width / 2], [0, 0.8 * width, height / 2], [0, 0, 1.0]])
    boxes = []
    for i in range(n):
        cx, cy = width * (0.25 + 0.5 * (i % 2)), height * (0.6 + 0.1 * (i // 2))
        s = 0.2 * height
        boxes.append(HandBox(np.array([cx - s, cy - s, cx + s, cy + s]), is_right=bool(i % 2)))
    return img, K, boxes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--backbone", default="resnet50")
    ap.add_argument("--backends", default="torch,onnxruntime,tensorrt")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batches", default="1,2,4")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    width, height = (int(v) for v in a.size.split("x"))
    batches = [int(b) for b in a.batches.split(",")]

    if a.checkpoint:
        model = None
        base = dict(checkpoint=a.checkpoint)
    else:
        torch.manual_seed(0)
        model = WildHands(WildHandsNet(ModelConfig(backbone=a.backbone))).eval()
        base = dict(allow_random_weights=True)
    results: dict = {
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": a.device,
        "size": a.size,
        "backbone": a.backbone,
        "rows": [],
    }
    estimators = {}
    for name in a.backends.split(","):
        if name == "tensorrt":
            from wildhands_core.inference.tensorrt_backend import tensorrt_available

            if not tensorrt_available():
                print("tensorrt: not available (no tensorrt package or no CUDA GPU) - skipped")
                continue
        device = a.device if name != "onnxruntime" or a.device == "cpu" else "cuda"
        cfg = EstimatorConfig(backend=name, device=device, cache_dir="~/.cache/wildhands/bench", **base)
        estimators[name] = HandPoseEstimator(cfg, model=model)
    eager_ms = {}
    print(f"{'backend':<26}{'batch':>6}{'median ms':>11}{'p90 ms':>9}{'vs torch':>10}{'peak MB':>10}")
    for b in batches:
        img, K, boxes = _frame(width, height, b)
        for name, est in estimators.items():
            prep = est.prepare([(img, K, boxes)])
            if a.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            times = _timeit(lambda est=est, prep=prep: est.backend.run(prep.inputs), a.repeats)
            med, p90 = statistics.median(times), float(np.percentile(times, 90))
            if name == "torch":
                eager_ms[b] = med
            peak = (
                torch.cuda.max_memory_allocated() / 1e6
                if a.device.startswith("cuda") and name == "torch"
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
            )
            ratio = eager_ms.get(b, float("nan")) / med
            print(f"{est.backend_name:<26}{b:>6}{med:>11.1f}{p90:>9.1f}{ratio:>9.2f}x{peak:>10.0f}")
            results["rows"].append(
                {
                    "backend": est.backend_name,
                    "batch": b,
                    "median_ms": med,
                    "p90_ms": p90,
                    "speedup_vs_torch": ratio,
                    "peak_mb": peak,
                }
            )
    # pre/post-processing cost per hand (torch estimator; independent of the backend)
    est = next(iter(estimators.values()))
    img, K, boxes = _frame(width, height, 2)
    prep_ms = statistics.median(_timeit(lambda: est.prepare([(img, K, boxes)]), a.repeats))
    prep = est.prepare([(img, K, boxes)])
    out = est.backend.run(prep.inputs)
    post_ms = statistics.median(_timeit(lambda: est.postprocess([(img, K, boxes)], prep, out), a.repeats))
    model_ms = (
        min(r["median_ms"] for r in results["rows"] if r["batch"] == 2) if 2 in batches else float("nan")
    )
    share = (prep_ms + post_ms) / model_ms
    print(
        f"pre-processing {prep_ms:.2f} ms / frame of 2 hands ({prep_ms / 2:.2f} ms per hand), "
        f"post-processing {post_ms:.2f} ms; together {100 * share:.1f}% of the fastest model time at batch 2"
    )
    results.update(
        preprocess_ms_per_frame_2_hands=prep_ms,
        postprocess_ms_per_frame_2_hands=post_ms,
        pre_post_share_of_model_time_batch2=share,
    )
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
