"""Hand detectors: the common interface (``base``), the factory that builds them (``factory``), and the
implementations. ``LearnedHandDetector`` (torch/torchvision) and ``MediaPipeHandDetector`` are imported only
when first used (``from wildhands_core.detection import LearnedHandDetector``), so importing this package
stays free of torch."""

from __future__ import annotations

import importlib
from typing import Any

from wildhands_core.detection.base import (
    CombinedDetector,
    ExternalBoxes,
    HandDetection,
    HandDetector,
    LockedExternalBoxes,
    box_from_keypoints,
    box_iou_xyxy,
    nms_per_handedness,
)
from wildhands_core.detection.factory import (
    DETECTOR_SOURCES,
    DetectorConfig,
    build_available_detector,
    build_detector,
    build_source,
    external_source,
)

# Names of the heavy detector modules, resolved on first access (PEP 562).
_LAZY = {
    "DetectorModelConfig": "wildhands_core.detection.learned",
    "LearnedHandDetector": "wildhands_core.detection.learned",
    "MediaPipeHandDetector": "wildhands_core.detection.mediapipe_detector",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DETECTOR_SOURCES",
    "CombinedDetector",
    "DetectorConfig",
    "DetectorModelConfig",
    "ExternalBoxes",
    "HandDetection",
    "HandDetector",
    "LearnedHandDetector",
    "LockedExternalBoxes",
    "MediaPipeHandDetector",
    "box_from_keypoints",
    "box_iou_xyxy",
    "build_available_detector",
    "build_detector",
    "build_source",
    "external_source",
    "nms_per_handedness",
]
