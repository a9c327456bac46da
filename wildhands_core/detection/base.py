"""The hand-detector interface, box helpers, and detectors that need no model.

Pixel convention: boxes are ``box_xyxy_px = (x0, y0, x1, y1)`` float pixels of the FULL original image,
with the centre of the top-left pixel at (0, 0) (as ``training.sample``); ``x1 > x0``, ``y1 > y0``.
Images are (H, W, 3) uint8 RGB. Stamps are int nanoseconds (the image header's stamp).

Every detector implements ``detect(image_rgb, stamp_ns=None) -> list[HandDetection]``; detectors that look
at the image ignore ``stamp_ns``, ``ExternalBoxes`` looks only at it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class HandDetection:
    """One detected hand: box (4,) float full-image pixels xyxy, side, score in [0, 1], detector name, and
    the detector's own 2D keypoints (21, 2) full-image pixels, MANO21 order, when it has them (MediaPipe's
    landmarks; the tracker follows them to the next frame), else None."""

    box_xyxy_px: np.ndarray
    is_right: bool
    score: float = 1.0
    source: str = ""
    keypoints_px: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.box_xyxy_px = np.asarray(self.box_xyxy_px, dtype=np.float64).reshape(4)
        self.is_right = bool(self.is_right)
        self.score = float(self.score)
        if self.keypoints_px is not None:
            self.keypoints_px = np.asarray(self.keypoints_px, dtype=np.float64).reshape(-1, 2)


@runtime_checkable
class HandDetector(Protocol):
    """Anything that finds hands in an image."""

    def detect(self, image_rgb: np.ndarray, stamp_ns: int | None = None) -> list[HandDetection]:
        """(H, W, 3) uint8 RGB image (and its stamp, int ns) -> detections in full-image pixels."""
        ...


def box_iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) of boxes a (N, 4) and b (M, 4), xyxy pixels (continuous areas, no +1)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0.0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0.0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0.0, inter / np.where(union > 0.0, union, 1.0), 0.0)


def nms_per_handedness(
    detections: Sequence[HandDetection], iou_threshold: float = 0.5
) -> list[HandDetection]:
    """Non-maximum suppression run separately for right and left detections (torchvision batched_nms).

    Returns the kept detections sorted by decreasing score. (torch is imported here, not at module level,
    so that the tracker and the box helpers load without it.)
    """
    import torch
    from torchvision.ops import batched_nms

    if len(detections) == 0:
        return []
    boxes = torch.as_tensor(np.stack([d.box_xyxy_px for d in detections]), dtype=torch.float64)
    scores = torch.as_tensor([d.score for d in detections], dtype=torch.float64)
    sides = torch.as_tensor([int(d.is_right) for d in detections], dtype=torch.int64)
    keep = batched_nms(boxes, scores, sides, float(iou_threshold))
    return [detections[i] for i in keep.tolist()]


def box_from_keypoints(
    keypoints_px: np.ndarray,
    margin: float = 0.15,
    velocity_px_per_s: np.ndarray | None = None,
    dt_s: float = 0.0,
    image_size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Predicted hand box for the next frame from the previous frame's 2D keypoints.

    ``keypoints_px`` (21, 2) full-image pixels. The keypoints' bounding box (x0, y0, x1, y1), of longest
    side ``s``, is expanded by ``margin * s`` on every side (joints lie inside the hand's outline: 0.15
    covers the palm's edge and finger thickness), then shifted by ``velocity_px_per_s * dt_s`` (box-centre
    velocity (2,) in px/s; ``dt_s`` seconds from the keypoints' stamp to the next image's), then clipped to
    ``image_size = (W, H)`` when given (to [0, W-1] x [0, H-1]; a box that leaves the image can come back
    with zero width or height, which callers treat as "hand left the image"). Returns (4,) float64.
    """
    kp = np.asarray(keypoints_px, dtype=np.float64).reshape(-1, 2)
    kp = kp[np.all(np.isfinite(kp), axis=1)]
    if len(kp) == 0:
        raise ValueError("no finite keypoint")
    lo, hi = kp.min(axis=0), kp.max(axis=0)
    pad = margin * float(np.max(hi - lo))
    box = np.concatenate([lo - pad, hi + pad])
    if velocity_px_per_s is not None and dt_s > 0.0:
        shift = np.asarray(velocity_px_per_s, dtype=np.float64).reshape(2) * dt_s
        box = box + np.concatenate([shift, shift])
    if image_size is not None:
        w, h = image_size
        box = np.clip(box, 0.0, np.array([w - 1, h - 1, w - 1, h - 1], dtype=np.float64))
    return box


class ExternalBoxes:
    """A "detector" that returns boxes given by someone else (e.g. a box topic) for a stamp.

    ``set_boxes(stamp_ns, detections)`` stores them (the newest ``history`` stamps are kept);
    ``detect(image_rgb, stamp_ns)`` returns the boxes whose stamp is within ``tolerance_ns`` of
    ``stamp_ns`` (the closest one), or the newest set when ``stamp_ns`` is None; [] when none match.
    """

    def __init__(self, tolerance_ns: int = 0, history: int = 30, source: str = "external") -> None:
        self.tolerance_ns = int(tolerance_ns)
        self.history = int(history)
        self.source = source
        self._boxes: OrderedDict[int, list[HandDetection]] = OrderedDict()

    def set_boxes(self, stamp_ns: int, detections: Sequence[HandDetection]) -> None:
        self._boxes[int(stamp_ns)] = list(detections)
        self._boxes.move_to_end(int(stamp_ns))
        while len(self._boxes) > self.history:
            self._boxes.popitem(last=False)

    def detect(self, image_rgb: np.ndarray | None = None, stamp_ns: int | None = None) -> list[HandDetection]:
        if not self._boxes:
            return []
        if stamp_ns is None:
            return list(next(reversed(self._boxes.values())))
        best = min(self._boxes, key=lambda s: abs(s - int(stamp_ns)))
        if abs(best - int(stamp_ns)) > self.tolerance_ns:
            return []
        return list(self._boxes[best])


class LockedExternalBoxes(ExternalBoxes):
    """ExternalBoxes safe to feed from one thread (a subscription) and read from another (the worker);
    ``wait`` blocks until boxes for a stamp arrived (an external detector answers after the image)."""

    def __init__(self, tolerance_ns: int = 0, history: int = 30, source: str = "external") -> None:
        super().__init__(tolerance_ns, history, source)
        self._lock = threading.Condition()

    def set_boxes(self, stamp_ns: int, detections: Sequence[HandDetection]) -> None:
        with self._lock:
            super().set_boxes(stamp_ns, detections)
            self._lock.notify_all()

    def wait(self, stamp_ns: int, timeout_s: float) -> bool:
        """True once boxes within ``tolerance_ns`` of ``stamp_ns`` (int ns) are stored; False after
        ``timeout_s`` seconds."""

        def ready() -> bool:
            return any(abs(s - int(stamp_ns)) <= self.tolerance_ns for s in self._boxes)

        with self._lock:
            return self._lock.wait_for(ready, timeout=max(float(timeout_s), 0.0))

    def detect(self, image_rgb: np.ndarray | None = None, stamp_ns: int | None = None) -> list[HandDetection]:
        with self._lock:
            return super().detect(image_rgb, stamp_ns)


class CombinedDetector:
    """Union of several detectors' outputs, de-duplicated by NMS per handedness.

    Detections below ``min_score`` are dropped first; then ``nms_per_handedness(iou_threshold)``.
    """

    def __init__(self, detectors: Sequence[HandDetector], iou_threshold: float = 0.5, min_score: float = 0.0):
        self.detectors = list(detectors)
        self.iou_threshold = float(iou_threshold)
        self.min_score = float(min_score)

    def detect(self, image_rgb: np.ndarray, stamp_ns: int | None = None) -> list[HandDetection]:
        found: list[HandDetection] = []
        for det in self.detectors:
            found.extend(d for d in det.detect(image_rgb, stamp_ns) if d.score >= self.min_score)
        return nms_per_handedness(found, self.iou_threshold)
