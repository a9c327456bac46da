"""ONNX export of the inference graph (opset 17, dynamic number of frames and hands) with checks."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from wildhands_core.constants import INPUT_SIZE
from wildhands_core.inference.graph import INPUT_NAMES, InferenceGraph
from wildhands_core.inference.onnx_passes import fold_pads_into_convs

OPSET = 17


def example_inputs(
    n_frames: int = 1, hands_per_frame: tuple[bool, ...] = (True, False), seed: int = 0
) -> dict[str, np.ndarray]:
    """Plausible random inputs: ``n_frames`` frames, each with one hand per entry of ``hands_per_frame``
    (True = right). Boxes around the image centre, K of a 224 frame with focal 250 px."""
    rng = np.random.default_rng(seed)
    n = n_frames * len(hands_per_frame)
    K = np.array([[250.0, 0, 112], [0, 250.0, 112], [0, 0, 1]], dtype=np.float32)
    c = rng.uniform(60, 164, size=(n, 2)).astype(np.float32)
    half = rng.uniform(30, 60, size=(n, 1)).astype(np.float32)
    return {
        "images": rng.standard_normal((n_frames, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32),
        "crops": rng.standard_normal((n, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32),
        "frame_idx": np.repeat(np.arange(n_frames), len(hands_per_frame)).astype(np.int64),
        "is_right": np.array(list(hands_per_frame) * n_frames, dtype=bool),
        "boxes_224": np.concatenate([c - half, c + half], axis=1),
        "K_224": np.repeat(K[None], n, axis=0),
    }


def export_onnx(graph: InferenceGraph, path: str | Path, opset: int = OPSET, fold_pads: bool = True) -> Path:
    """Trace ``graph`` on a two-frame example (both sides present) and write ``path`` with dynamic
    frame (``F``) and hand (``N``) axes, zero Pads folded into their convolutions unless ``fold_pads`` is
    False (``inference.onnx_passes``); the file's outputs are ``graph.output_names``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ex = example_inputs(n_frames=2)
    args = tuple(torch.from_numpy(ex[k]) for k in INPUT_NAMES)
    dyn = {
        "images": {0: "F"},
        "crops": {0: "N"},
        "frame_idx": {0: "N"},
        "is_right": {0: "N"},
        "boxes_224": {0: "N"},
        "K_224": {0: "N"},
    }
    dyn.update({k: {0: "N"} for k in graph.output_names})
    graph = graph.cpu().eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            args,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=list(graph.output_names),
            dynamic_axes=dyn,
            opset_version=opset,
            dynamo=False,
            do_constant_folding=True,
        )
    if fold_pads:
        import onnx

        proto = onnx.load(str(path))
        if fold_pads_into_convs(proto):
            onnx.save(proto, str(path))
    return path


def check_onnx(path: str | Path) -> None:
    """onnx.checker on the exported file (raises onnx.checker.ValidationError)."""
    import onnx

    onnx.checker.check_model(str(path), full_check=True)


def parity(
    graph: InferenceGraph, path: str | Path, inputs: dict[str, np.ndarray] | None = None
) -> dict[str, float]:
    """Max absolute difference per output between torch (FP32, CPU) and ONNX Runtime (CPU). NaN where both
    give NaN (``right_prob`` of a network without a side classifier) counts as agreement; NaN in one only is
    a NaN difference."""
    from wildhands_core.inference.onnx_backend import OnnxRuntimeBackend
    from wildhands_core.inference.torch_backend import TorchBackend

    inputs = inputs if inputs is not None else example_inputs(n_frames=1, seed=1)
    ref = TorchBackend(graph, "cpu").run(inputs)
    got = OnnxRuntimeBackend(path, ["CPUExecutionProvider"]).run(inputs)
    return {k: _max_difference(ref[k], got[k]) for k in graph.output_names}


def _max_difference(a: np.ndarray, b: np.ndarray) -> float:
    if not a.size:
        return 0.0
    both_nan = np.isnan(a) & np.isnan(b)
    return float(np.max(np.where(both_nan, 0.0, np.abs(a - b))))
