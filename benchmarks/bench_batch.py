"""Benchmark of ``wildhands-batch``: the single-process path vs Ray with 1 and 2 workers, same inputs.

Inputs: ``--inputs`` synthetic egocentric videos (``wildhands_synth.sequence``, ``--frames`` frames of
``--size`` each, a camera YAML beside each), written once to ``--out``. Estimator: the shipped demo
checkpoint and the demo's learned detector, torch, 1 inference thread per worker.

Runs, back to back on the same inputs, each into a fresh output folder (nothing reused):
  single   ``run_batch(workers=0)``: the inputs one after the other in this process (no Ray)
  ray x1   ``run_batch(workers=1)``: a local Ray started by the run, one actor
  ray x2   ``run_batch(workers=2)``: the same with two actors (2 CPUs)
Reported per run: wall time from the call to the merged dataset (model loading and Ray start included),
frames/s over that wall time, start-up (from the call to the first input's start: Ray start, actor start,
estimator load) and the processing time (the longest worker's sum of per-input seconds); Ray's overhead at
1 worker and the 2-worker speed-up, on wall and on processing time; the merged datasets' equality (SHA-256
of every file); the machine's load average.
Targets (issue 30): overhead <= 10 %, speed-up >= 1.7x on 2 free cores.

    python benchmarks/bench_batch.py --out /tmp/bench_batch [--inputs 4 --frames 40 --json result.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from wildhands_offline.batch import run_batch
from wildhands_offline.batch_worker import BatchConfig

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "models" / "demo"


def write_inputs(folder: Path, n: int, frames: int, size: tuple[int, int]) -> list[Path]:
    """``n`` mp4 videos of synthetic sequences with their camera YAMLs; returns the video paths."""
    from wildhands_synth.sequence import SyntheticSequence

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"clip_{i:02d}.mp4"
        paths.append(path)
        if path.exists():
            continue
        seq = SyntheticSequence(80_000 + i, size, threads=1)
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
        for f in seq.frames(frames):
            w.write(np.ascontiguousarray(f.image[:, :, ::-1]))
        w.release()
        K = np.asarray(seq.K_px, float)
        path.with_suffix(".yaml").write_text(yaml.safe_dump({
            "image_width": size[0], "image_height": size[1], "camera_name": "synth",
            "camera_matrix": {"rows": 3, "cols": 3, "data": K.reshape(9).tolist()},
            "distortion_model": "plumb_bob",
            "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5},
        }))
    return paths


def dataset_hash(dataset: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(dataset.iterdir()):
        h.update(p.name.encode() + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def one_run(name: str, paths: list[Path], out: Path, cfg: BatchConfig, workers: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    epoch0 = time.time()
    t0 = time.perf_counter()
    s = run_batch(paths, out, cfg, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    assert not s["failed"], s["failed"]
    per_worker: dict[str, float] = {}
    for r in s["per_input"]:
        per_worker[r["worker"]] = per_worker.get(r["worker"], 0.0) + r["seconds"]
    frames = s["frames_processed_now"]
    first = min(json.loads(f.read_text())["started"] for f in (out / "attempts").glob("*.json"))
    return {"run": name, "workers": workers, "frames": frames, "wall_s": wall, "frames_per_s": frames / wall,
            "startup_s": first - epoch0, "processing_s": max(per_worker.values()),
            "processing_frames_per_s": frames / max(per_worker.values()),
            "dataset_sha256": dataset_hash(out / "dataset")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--inputs", type=int, default=4)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--size", type=int, nargs=2, default=(320, 240))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    out = Path(a.out)
    paths = write_inputs(out / f"inputs_{a.inputs}x{a.frames}_{a.size[0]}x{a.size[1]}", a.inputs, a.frames,
                         tuple(a.size))
    cfg = BatchConfig(checkpoint=str(DEMO / "wildhands_demo.pt"), backend="torch", detector="learned",
                      detector_checkpoint=str(DEMO / "detector_demo.pt"), threads=1)
    load_before = os.getloadavg()
    runs = [one_run("single", paths, out / "single", cfg, 0), one_run("ray x1", paths, out / "ray1", cfg, 1),
            one_run("ray x2", paths, out / "ray2", cfg, 2)]
    load_after = os.getloadavg()
    single, ray1, ray2 = runs
    result = {
        "inputs": a.inputs, "frames_per_input": a.frames, "size": list(a.size), "cpu_count": os.cpu_count(),
        "load_average_1_5_15_before": [round(x, 2) for x in load_before],
        "load_average_1_5_15_after": [round(x, 2) for x in load_after],
        "runs": runs,
        "ray_overhead_1_worker": ray1["wall_s"] / single["wall_s"] - 1.0,
        "speedup_2_workers": ray1["wall_s"] / ray2["wall_s"],
        "speedup_2_workers_processing": ray1["processing_s"] / ray2["processing_s"],
        "ray_overhead_1_worker_processing": ray1["processing_s"] / single["processing_s"] - 1.0,
        "datasets_identical": len({r["dataset_sha256"] for r in runs}) == 1,
    }
    print(f"{a.inputs} inputs x {a.frames} frames ({a.size[0]}x{a.size[1]}), {os.cpu_count()} CPUs, load "
          f"average {load_before[0]:.2f} before / {load_after[0]:.2f} after")
    print("| run | wall s | frames/s (wall) | start-up s | processing s | frames/s (processing) | dataset |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['run']} | {r['wall_s']:.1f} | {r['frames_per_s']:.1f} | {r['startup_s']:.1f} | "
              f"{r['processing_s']:.1f} | {r['processing_frames_per_s']:.1f} | {r['dataset_sha256']} |")
    print(f"Ray overhead at 1 worker: {100 * result['ray_overhead_1_worker']:+.1f} % wall, "
          f"{100 * result['ray_overhead_1_worker_processing']:+.1f} % processing (target <= 10 %); "
          f"2-worker speed-up: {result['speedup_2_workers']:.2f}x wall, "
          f"{result['speedup_2_workers_processing']:.2f}x processing (target >= 1.7x); "
          f"datasets identical: {result['datasets_identical']}")
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
