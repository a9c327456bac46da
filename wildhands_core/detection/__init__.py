"""Hand detectors: the common interface (``base``) and its implementations."""

from wildhands_core.detection.base import (
    CombinedDetector,
    ExternalBoxes,
    HandDetection,
    HandDetector,
    box_from_keypoints,
    box_iou_xyxy,
    nms_per_handedness,
)

__all__ = [
    "CombinedDetector",
    "ExternalBoxes",
    "HandDetection",
    "HandDetector",
    "box_from_keypoints",
    "box_iou_xyxy",
    "nms_per_handedness",
]
