"""int8 ONNX Runtime model of the inference graph: static QDQ quantization calibrated on real network inputs.

    feeds = calibration_feeds(estimator, read_synth_frames("data/synth_calib", 32))
    quantize_int8("wildhands.onnx", "wildhands_int8.onnx", feeds)
    est = HandPoseEstimator(EstimatorConfig(checkpoint=..., backend="onnxruntime",
                                            onnx_path="wildhands_int8.onnx"))

Only the convolutions are quantized (``op_types=("Conv",)``: the two trunks and the feature convolutions,
almost all of the FLOPs), per output channel for the weights (int8, symmetric), per tensor for the
activations (uint8, MinMax over the calibration feeds); the heads' linear layers, the 6D->rotation maths,
MANO and the projection stay float32. Calibration inputs are what the estimator itself feeds the graph
(``HandPoseEstimator.prepare``: letterboxed images, hand crops, boxes and K) for frames with known hands,
e.g. the project's synthetic frames (``wildhands-synth``: images and ``labels.npz``, whose documented
layout ``read_synth_frames`` reads).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from wildhands_core.estimate import HandBox

Frame = tuple[np.ndarray, np.ndarray, list[HandBox]]  # (RGB image, K_px, hand boxes)


def read_synth_frames(folder: str | Path, count: int) -> Iterator[Frame]:
    """(RGB image, K_px, boxes of the present hands) of the first ``count`` frames of a ``wildhands-synth``
    folder (``meta.json``, ``images/NNNNNN<ext>``, ``labels.npz`` with ``K_px``, ``present``,
    ``box_xyxy_px``; hand slot 0 = right, 1 = left)."""
    import cv2

    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != "wildhands-synth":
        raise ValueError(f"{folder}: not a wildhands-synth folder (meta.json format {meta.get('format')!r})")
    labels = np.load(folder / "labels.npz")
    ext = meta.get("image_ext", ".jpg")
    for i in range(min(int(count), len(labels["K_px"]))):
        bgr = cv2.imread(str(folder / "images" / f"{i:06d}{ext}"), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{folder}: image {i:06d}{ext} is missing or unreadable")
        boxes = [HandBox(labels["box_xyxy_px"][i, s], is_right=(s == 0)) for s in (0, 1)
                 if labels["present"][i, s]]
        if boxes:
            yield np.ascontiguousarray(bgr[:, :, ::-1]), labels["K_px"][i], boxes


def calibration_feeds(estimator, frames: Iterable[Frame]) -> list[dict]:
    """The graph inputs ``estimator.prepare`` makes for each (image, K, boxes) frame (one frame per feed)."""
    return [estimator.prepare([f]).inputs for f in frames]


class _Reader:
    """``onnxruntime.quantization.CalibrationDataReader`` over a list of feeds."""

    def __init__(self, feeds: list[dict], input_names: list[str]) -> None:
        self._it = iter([{k: f[k] for k in input_names} for f in feeds])

    def get_next(self) -> dict | None:
        return next(self._it, None)


def quantize_int8(
    fp32_path: str | Path, out_path: str | Path, feeds: list[dict], op_types: tuple[str, ...] = ("Conv",),
    per_channel: bool = True,
) -> Path:
    """Write the static QDQ int8 model of ``fp32_path`` (see the module docstring) to ``out_path``."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if not feeds:
        raise ValueError("int8 calibration needs at least one feed (a frame with a hand)")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    pre = out_path.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
    names = [i.name for i in ort.InferenceSession(str(pre), providers=["CPUExecutionProvider"]).get_inputs()]
    try:
        quantize_static(
            str(pre), str(out_path), _Reader(feeds, names),
            quant_format=QuantFormat.QDQ, op_types_to_quantize=list(op_types), per_channel=per_channel,
            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    finally:
        pre.unlink(missing_ok=True)
    model = onnx.load(str(out_path))
    meta = model.metadata_props.add()
    meta.key, meta.value = "wildhands_quantization", json.dumps(
        {"format": "QDQ", "weights": "int8 per-channel" if per_channel else "int8", "activations": "uint8",
         "op_types": list(op_types), "calibration_feeds": len(feeds)})
    onnx.save(model, str(out_path))
    return out_path
