"""`wildhands-export CHECKPOINT --out DIR`: checkpoint -> ONNX (opset 17, dynamic frames and hands),
checked with onnx.checker and an ONNX Runtime parity run against torch; builds the TensorRT engine too
when TensorRT and a GPU are present. With ``--int8 SYNTH_DIR`` also ``wildhands_int8.onnx``: static QDQ int8
convolutions calibrated on the frames of a ``wildhands-synth`` folder (``wildhands_core.inference.quantize``;
about 2x faster on CPU, see ``benchmarks/bench_int8.py``), with its difference to float32 on those frames
in the report; run it with ``backend: onnxruntime`` and ``onnx_path`` (node: ``model.onnx_path``). Exit
status 0 only when every check passes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wildhands-export", description=__doc__)
    ap.add_argument("checkpoint", help="project or released checkpoint file")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument(
        "--mano-dir", default=None, help="licensed MANO files (default: WILDHANDS_MANO_DIR or procedural)"
    )
    ap.add_argument(
        "--tolerance-m", type=float, default=1e-4, help="max joint difference torch vs ORT, metres"
    )
    ap.add_argument("--max-hands", type=int, default=4, help="TensorRT profile: most hands per frame")
    ap.add_argument("--no-tensorrt", action="store_true", help="skip the TensorRT engine even if available")
    ap.add_argument("--int8", default=None, metavar="SYNTH_DIR",
                    help="also write wildhands_int8.onnx, calibrated on this wildhands-synth folder")
    ap.add_argument("--int8-frames", type=int, default=32, help="calibration frames of --int8")
    a = ap.parse_args(argv)

    from wildhands_core.checkpoint import CheckpointError
    from wildhands_core.estimator import EstimatorConfig, load_model
    from wildhands_core.inference.export import check_onnx, export_onnx, parity
    from wildhands_core.inference.graph import InferenceGraph
    from wildhands_core.inference.tensorrt_backend import TensorRTBackend, tensorrt_available

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        model = load_model(EstimatorConfig(checkpoint=a.checkpoint, mano_dir=a.mano_dir))
    except (CheckpointError, FileNotFoundError) as exc:
        print(f"wildhands-export: cannot load {a.checkpoint}: {exc}", file=sys.stderr)
        return 2
    graph = InferenceGraph(model, return_vertices=True)  # a file for every use: with or without the mesh
    onnx_path = export_onnx(graph, out / "wildhands.onnx")
    check_onnx(onnx_path)
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB); onnx.checker: ok")
    diffs = parity(graph, onnx_path)
    report = {"onnx": str(onnx_path), "max_abs_diff": diffs, "mano": str(model.mano_r.source)}
    ok = diffs["joints_cam_m"] <= a.tolerance_m and all(np.isfinite(list(diffs.values())))
    print(
        "ONNX Runtime vs torch, max |diff| per output: "
        + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())
        + (" -> ok" if ok else " -> FAILED")
    )
    if a.int8:
        int8_ok = _int8(a, model, onnx_path, out, report)
        ok = ok and int8_ok
    if tensorrt_available() and not a.no_tensorrt:
        trt = TensorRTBackend(onnx_path, out / "engines", fp16=True, max_hands=a.max_hands)
        report["tensorrt_engine"] = str(trt.engine_path)
        print(f"TensorRT FP16 engine: {trt.engine_path}")
    else:
        print("TensorRT: not available here (no tensorrt package or no CUDA GPU); engine not built")
    (out / "export_report.json").write_text(json.dumps(report, indent=1))
    return 0 if ok else 1


def _int8(a: argparse.Namespace, model, onnx_path: Path, out: Path, report: dict) -> bool:
    """Quantize, then compare int8 with float32 on the calibration frames (joints, mm)."""
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
    from wildhands_core.inference.quantize import calibration_feeds, quantize_int8, read_synth_frames

    fp32 = HandPoseEstimator(EstimatorConfig(checkpoint=a.checkpoint, backend="onnxruntime",
                                             onnx_path=str(onnx_path)), model=model)
    try:
        frames = list(read_synth_frames(a.int8, a.int8_frames))
    except (OSError, ValueError) as exc:
        print(f"wildhands-export: --int8 {a.int8}: {exc}", file=sys.stderr)
        return False
    int8_path = quantize_int8(onnx_path, out / "wildhands_int8.onnx", calibration_feeds(fp32, frames))
    int8 = HandPoseEstimator(EstimatorConfig(checkpoint=a.checkpoint, backend="onnxruntime",
                                             onnx_path=str(int8_path)), model=model)
    diffs = [np.linalg.norm(y.joints_m - x.joints_m, axis=1).mean()
             for f in frames for x, y in zip(fp32.estimate(*f), int8.estimate(*f), strict=True)]
    report["int8"] = {"onnx": str(int8_path), "calibration_frames": len(frames),
                      "joints_diff_mm_mean": 1e3 * float(np.mean(diffs)),
                      "joints_diff_mm_max": 1e3 * float(np.max(diffs))}
    print(f"wrote {int8_path} ({int8_path.stat().st_size / 1e6:.1f} MB), calibrated on {len(frames)} frames; "
          f"int8 vs float32 joints: mean {report['int8']['joints_diff_mm_mean']:.1f} mm, "
          f"max {report['int8']['joints_diff_mm_max']:.1f} mm (on the calibration frames)")
    return bool(np.all(np.isfinite(diffs)))


if __name__ == "__main__":
    sys.exit(main())
