"""Detector interface and box helpers: IoU, NMS per side, external boxes, box from keypoints."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_core.detection import (
    CombinedDetector,
    ExternalBoxes,
    HandDetection,
    HandDetector,
    box_from_keypoints,
    box_iou_xyxy,
    nms_per_handedness,
)

IMAGE = np.zeros((480, 640, 3), np.uint8)


def test_box_iou_matches_hand_computed_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]])
    np.testing.assert_allclose(box_iou_xyxy(a, b), [[50 / 150, 0.0, 1.0]])


def test_nms_runs_per_handedness():
    dets = [
        HandDetection([0, 0, 100, 100], True, 0.6, "a"),
        HandDetection([5, 5, 100, 100], True, 0.9, "b"),  # IoU 0.9025 with the first: suppresses it
        HandDetection([5, 5, 100, 100], False, 0.5, "b"),  # same box, other side: kept
    ]
    kept = nms_per_handedness(dets, 0.5)
    assert [(d.source, d.is_right) for d in kept] == [("b", True), ("b", False)]


def test_hand_detection_normalises_its_fields():
    d = HandDetection([1, 2, 3, 4], 1, np.float32(0.5))
    assert d.box_xyxy_px.dtype == np.float64 and d.box_xyxy_px.shape == (4,)
    assert d.is_right is True and isinstance(d.score, float)


def test_external_boxes_return_the_boxes_of_the_matching_stamp():
    ext = ExternalBoxes(tolerance_ns=10, history=2)
    assert isinstance(ext, HandDetector)
    d1, d2, d3 = (HandDetection([i, i, i + 10, i + 10], True) for i in (1, 2, 3))
    ext.set_boxes(100, [d1])
    ext.set_boxes(200, [d2])
    assert ext.detect(IMAGE, 205) == [d2]
    assert ext.detect(IMAGE, 150) == []  # 50 ns away from both, tolerance 10
    assert ext.detect(IMAGE, None) == [d2]
    ext.set_boxes(300, [d3])  # history 2: stamp 100 is forgotten
    assert ext.detect(IMAGE, 100) == []


def test_combined_detector_unions_sources_and_removes_duplicates_and_low_scores():
    a, b = ExternalBoxes(source="a"), ExternalBoxes(source="b")
    a.set_boxes(7, [HandDetection([0, 0, 50, 50], True, 0.8, "a"),
                    HandDetection([300, 0, 350, 50], False, 0.1, "a")])  # below min_score
    b.set_boxes(7, [HandDetection([2, 2, 50, 50], True, 0.9, "b"),  # duplicate of a's first, higher score
                    HandDetection([100, 0, 150, 50], False, 0.7, "b")])
    out = CombinedDetector([a, b], iou_threshold=0.5, min_score=0.2).detect(IMAGE, 7)
    assert [(d.source, tuple(d.box_xyxy_px[:2])) for d in out] == [("b", (2.0, 2.0)), ("b", (100.0, 0.0))]


def test_box_from_keypoints_adds_the_margin_and_the_velocity_shift():
    kp = np.array([[100, 200], [140, 260], [120, 230]], dtype=float)  # bbox 100..140 x 200..260, side 60
    np.testing.assert_allclose(box_from_keypoints(kp, margin=0.15), [91, 191, 149, 269])
    # velocity (30, -60) px/s over 0.1 s shifts by (3, -6)
    shifted = box_from_keypoints(kp, 0.15, np.array([30.0, -60.0]), 0.1)
    np.testing.assert_allclose(shifted, [94, 185, 152, 263])


def test_box_from_keypoints_clips_to_the_image_and_ignores_nan_keypoints():
    kp = np.array([[600, 10], [650, 50], [np.nan, np.nan]])
    box = box_from_keypoints(kp, margin=0.0, image_size=(640, 480))
    np.testing.assert_allclose(box, [600, 10, 639, 50])
    with pytest.raises(ValueError):
        box_from_keypoints(np.full((21, 2), np.nan))
