"""int8 (ONNX Runtime static QDQ) against float32, for the released ResNet-50 architecture and the demo model:
speed per frame of two hands at 1 and 2 intra-op threads, and the accuracy cost on the synthetic held-out
sequence, side by side in one run.

    scripts/wh python benchmarks/bench_int8.py [--calib-frames 24] [--eval-frames 12] [--json int8.json]
        [--models resnet50,demo,candidate --candidate runs/demo_cached/last.pt]

Calibration: ``wildhands-synth`` frames (seed 7, never the held-out seed) through the estimator's own input
preparation with their true boxes (``wildhands_core.inference.quantize``). Held-out: the demo's sequence
(``wildhands-demo``'s seed, 640x480) with true boxes. Accuracy figures per model: int8 minus float32
(joints, mm: mean and max over joints and hands, root-relative and absolute; 2D keypoints, px), and, for
the demo model (trained weights), root-relative MPJPE of each against the ground truth. The ResNet-50 has
random weights (no trained ResNet-50 exists here), so only its int8-vs-float32 differences mean something;
they are put next to the spread of its float32 outputs over the frames. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# this checkout's packages, not an installed copy (the script's own folder is sys.path[0])
sys.path.insert(0, str(REPO))


def _estimators(name: str, onnx_dir: Path, feeds_frames, threads: int, candidate: str | None = None):
    import torch

    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
    from wildhands_core.inference.quantize import calibration_feeds, quantize_int8

    if name == "resnet50":
        from wildhands_core.model.wildhands import WildHands
        from wildhands_core.model.wildhands_net import WildHandsNet

        torch.manual_seed(0)
        model = WildHands(WildHandsNet())
        cfg = EstimatorConfig(allow_random_weights=True, backend="onnxruntime", max_hands=2, threads=threads)
    else:  # "demo": the shipped demo checkpoint; "candidate": --candidate
        model = None
        ckpt = candidate if name == "candidate" else str(REPO / "models/demo/wildhands_demo.pt")
        cfg = EstimatorConfig(checkpoint=ckpt, backend="onnxruntime", max_hands=2, threads=threads)
    fp32 = HandPoseEstimator(cfg, model=model)
    fp32_path = fp32.backend.onnx_path  # the cached export
    t = time.perf_counter()
    feeds = calibration_feeds(fp32, feeds_frames)
    int8_path = quantize_int8(fp32_path, onnx_dir / f"{name}_int8.onnx", feeds)
    quant_s = time.perf_counter() - t
    int8_cfg = EstimatorConfig(**{**cfg.__dict__, "onnx_path": str(int8_path)})
    int8 = HandPoseEstimator(int8_cfg, model=fp32.model)
    return fp32, int8, quant_s, Path(fp32_path), int8_path


def _speed(est, feed: dict, threads: int, repeats: int) -> float:
    from wildhands_core.inference.onnx_backend import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(est.backend.onnx_path, ["CPUExecutionProvider"], threads)
    for _ in range(2):
        backend.run(feed)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        backend.run(feed)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _accuracy(fp32, int8, frames, truth) -> dict:
    d_abs, d_rel, d_kp, err32, err8, spread = [], [], [], [], [], []
    for (image, K, boxes), true_j in zip(frames, truth, strict=True):
        a = fp32.estimate(image, K, boxes)
        b = int8.estimate(image, K, boxes)
        for ea, eb, tj in zip(a, b, true_j, strict=True):
            ja, jb = ea.joints_m, eb.joints_m
            d_abs.append(np.linalg.norm(jb - ja, axis=1))
            d_rel.append(np.linalg.norm((jb - jb[0]) - (ja - ja[0]), axis=1))
            d_kp.append(np.linalg.norm(eb.keypoints_px - ea.keypoints_px, axis=1))
            err32.append(np.linalg.norm((ja - ja[0]) - (tj - tj[0]), axis=1).mean())
            err8.append(np.linalg.norm((jb - jb[0]) - (tj - tj[0]), axis=1).mean())
            spread.append(ja - ja[0])
    d_abs, d_rel, d_kp = np.concatenate(d_abs), np.concatenate(d_rel), np.concatenate(d_kp)
    rel = np.stack(spread)
    return {
        "hands": len(err32),
        "diff_joints_mm_mean": 1e3 * float(d_abs.mean()), "diff_joints_mm_max": 1e3 * float(d_abs.max()),
        "diff_root_relative_mm_mean": 1e3 * float(d_rel.mean()),
        "diff_root_relative_mm_max": 1e3 * float(d_rel.max()),
        "diff_keypoints_px_mean": float(d_kp.mean()), "diff_keypoints_px_max": float(d_kp.max()),
        "fp32_root_relative_spread_mm": 1e3 * float(np.linalg.norm(rel - rel.mean(0), axis=2).mean()),
        "mpjpe_fp32_mm": 1e3 * float(np.mean(err32)), "mpjpe_int8_mm": 1e3 * float(np.mean(err8)),
    }


def measure(
    calib_frames: int = 24, eval_frames: int = 12, repeats: int = 5, models=("resnet50", "demo"),
    candidate: str | None = None,
) -> dict:
    """Every figure of the module docstring, as a dict (also used by ``bench_node.py --int8``)."""
    from wildhands_core.estimate import HandBox
    from wildhands_core.inference.quantize import read_synth_frames
    from wildhands_synth.cli import main as synth_main
    from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence

    out: dict = {"calib_frames": calib_frames, "eval_frames": eval_frames, "repeats": repeats}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        synth_main(["--out", str(tmp / "calib"), "--frames", str(calib_frames), "--seed", "7",
                    "--size", "640x480"])
        calib = list(read_synth_frames(tmp / "calib", calib_frames))
        seq = SyntheticSequence(DEMO_SEED, (640, 480), threads=1)
        frames, truth = [], []
        for f in seq.frames(eval_frames):
            lab = f.labels
            slots = [s for s in (0, 1) if lab["present"][s]]
            if slots:
                frames.append((f.image, seq.K_px, [HandBox(lab["box_xyxy_px"][s], s == 0) for s in slots]))
                truth.append([lab["joints_cam_m"][s] for s in slots])
        two = next(fr for fr in frames if len(fr[2]) == 2)
        for name in models:
            fp32, int8, quant_s, fp32_path, int8_path = _estimators(name, tmp, calib, 0, candidate)
            feed = fp32.prepare([two]).inputs
            r: dict = {"quantize_s": quant_s, "fp32_mb": fp32_path.stat().st_size / 1e6,
                       "int8_mb": int8_path.stat().st_size / 1e6}
            for th in (1, 2):
                r[f"fp32_ms_threads{th}"] = _speed(fp32, feed, th, repeats)
                r[f"int8_ms_threads{th}"] = _speed(int8, feed, th, repeats)
            r["speedup_threads2"] = r["fp32_ms_threads2"] / r["int8_ms_threads2"]
            r["speedup_threads1"] = r["fp32_ms_threads1"] / r["int8_ms_threads1"]
            r.update(_accuracy(fp32, int8, frames, truth))
            out[name] = r
    return out


def print_figures(r: dict) -> None:
    models = [k for k in ("resnet50", "demo", "candidate") if k in r]
    rows = ["fp32_ms_threads1", "int8_ms_threads1", "speedup_threads1", "fp32_ms_threads2",
            "int8_ms_threads2", "speedup_threads2", "fp32_mb", "int8_mb", "quantize_s", "hands",
            "diff_joints_mm_mean", "diff_joints_mm_max", "diff_root_relative_mm_mean",
            "diff_root_relative_mm_max", "diff_keypoints_px_mean", "diff_keypoints_px_max",
            "fp32_root_relative_spread_mm", "mpjpe_fp32_mm", "mpjpe_int8_mm"]
    print(f"\nint8 vs float32 (ONNX Runtime CPU, one frame of two hands; accuracy on {r['eval_frames']} "
          f"held-out frames, true boxes)")
    print(f"{'':<30}" + "".join(f"{m:>12}" for m in models))
    for k in rows:
        print(f"{k:<30}" + "".join(f"{r[m][k]:12.2f}" for m in models))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calib-frames", type=int, default=24)
    ap.add_argument("--eval-frames", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--models", default="resnet50,demo", help="resnet50, demo (shipped), candidate")
    ap.add_argument("--candidate", default=None, help="checkpoint measured as 'candidate'")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    models = tuple(a.models.split(","))
    if "candidate" in models and not a.candidate:
        ap.error("--models candidate needs --candidate CHECKPOINT")
    r = measure(a.calib_frames, a.eval_frames, a.repeats, models, a.candidate)
    print_figures(r)
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
