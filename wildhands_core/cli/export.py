"""`wildhands-export CHECKPOINT --out DIR`: checkpoint -> ONNX (opset 17, dynamic frames and hands),
checked with onnx.checker and an ONNX Runtime parity run against torch; builds the TensorRT engine too
when TensorRT and a GPU are present. Exit status 0 only when every check passes."""

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
    graph = InferenceGraph(model)
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
    if tensorrt_available() and not a.no_tensorrt:
        trt = TensorRTBackend(onnx_path, out / "engines", fp16=True, max_hands=a.max_hands)
        report["tensorrt_engine"] = str(trt.engine_path)
        print(f"TensorRT FP16 engine: {trt.engine_path}")
    else:
        print("TensorRT: not available here (no tensorrt package or no CUDA GPU); engine not built")
    (out / "export_report.json").write_text(json.dumps(report, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
