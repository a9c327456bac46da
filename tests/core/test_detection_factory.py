"""Detector factory: config validation, sources in order, combination by NMS, optional sources."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wildhands_core.detection.base import CombinedDetector, ExternalBoxes, HandDetection
from wildhands_core.detection.factory import DetectorConfig, build_detector, external_source
from wildhands_core.detection.learned import (
    DetectorModelConfig,
    LearnedHandDetector,
    build_detector_model,
    save_detector_checkpoint,
)


def test_config_rejects_unknown_empty_and_repeated_sources():
    with pytest.raises(ValueError, match="unknown detector sources"):
        DetectorConfig(sources=["yolo"])
    with pytest.raises(ValueError, match="empty"):
        DetectorConfig(sources=[])
    with pytest.raises(ValueError, match="repeat"):
        DetectorConfig(sources=["external", "external"])
    with pytest.raises(ValueError, match="unknown DetectorConfig keys"):
        DetectorConfig.from_dict({"sources": ["external"], "treshold": 0.5})
    assert DetectorConfig.from_dict({"sources": ["external"], "nms_iou": 0.3}).nms_iou == 0.3


def test_external_source_boxes_pass_through_nms_and_min_score():
    det = build_detector(DetectorConfig(sources=["external"], nms_iou=0.5, min_score=0.2))
    assert isinstance(det, CombinedDetector)
    ext = external_source(det)
    assert isinstance(ext, ExternalBoxes)
    ext.set_boxes(100, [
        HandDetection([0, 0, 10, 10], True, 0.9),
        HandDetection([0, 0, 10, 9], True, 0.8),  # IoU 0.9 with the first, same side: suppressed
        HandDetection([0, 0, 10, 9], False, 0.7),  # other side: kept
        HandDetection([50, 50, 60, 60], True, 0.1),  # below min_score
    ])
    found = det.detect(np.zeros((4, 4, 3), np.uint8), 100)
    assert [(d.is_right, d.score) for d in found] == [(True, 0.9), (False, 0.7)]


def test_learned_source_needs_a_checkpoint():
    with pytest.raises(ValueError, match="learned_checkpoint"):
        build_detector(DetectorConfig(sources=["learned"]))


def test_learned_and_external_sources_are_built_in_the_given_order(tmp_path):
    cfg = DetectorModelConfig(input_wh=(64, 48))
    ckpt = save_detector_checkpoint(tmp_path / "d.pt", build_detector_model(cfg), cfg)
    det = build_detector(DetectorConfig(sources=["learned", "external"], learned_checkpoint=str(ckpt),
                                        learned_score_threshold=0.9))
    assert isinstance(det.detectors[0], LearnedHandDetector) and det.detectors[0].score_threshold == 0.9
    assert det.detectors[1] is external_source(det)
    # an untrained SSDlite scores every class 1/3 < 0.9: only the external box comes out.
    external_source(det).set_boxes(5, [HandDetection([1, 1, 9, 9], False, 1.0)])
    with torch.inference_mode():
        found = det.detect(np.zeros((48, 64, 3), np.uint8), 5)
    assert len(found) == 1 and found[0].source == "" and not found[0].is_right


def test_mediapipe_source_is_built_with_its_settings():
    from wildhands_core.detection.mediapipe_detector import MediaPipeHandDetector

    det = build_detector(DetectorConfig(sources=["mediapipe"], mediapipe_margin=0.25, mediapipe_max_hands=1))
    (mp,) = det.detectors
    assert isinstance(mp, MediaPipeHandDetector) and mp.margin == 0.25 and mp.max_hands == 1
    assert not mp.image_is_mirrored  # robot cameras do not mirror
    mp.close()
