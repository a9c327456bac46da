"""THE dict/YAML -> dataclass loader (``wildhands_core.config.dataclass_from_dict``) and the one value of
each runtime default shared by several config dataclasses."""

from __future__ import annotations

import pytest

from wildhands_core.config import dataclass_from_dict, settings_of
from wildhands_core.detection.factory import DetectorConfig
from wildhands_core.detection.learned import DetectorModelConfig
from wildhands_core.estimator import BACKENDS, EstimatorConfig
from wildhands_core.pipeline import PipelineConfig
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.smoothing.one_euro import OneEuroParams
from wildhands_core.tracking.config import TrackerConfig


def test_unknown_key_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown TrackerConfig keys \['min_hitz'\]"):
        dataclass_from_dict(TrackerConfig, {"min_hits": 1, "min_hitz": 1})


def test_unknown_nested_key_is_refused_by_name_and_place():
    with pytest.raises(ValueError, match=r"unknown OneEuroParams keys \['betaa'\] \(at smoothing\.joints\)"):
        dataclass_from_dict(PipelineConfig, {"smoothing": {"joints": {"betaa": 2.0}}})


@pytest.mark.parametrize(
    "cls", [TrackerConfig, SmoothingConfig, DetectorConfig, DetectorModelConfig], ids=lambda c: c.__name__
)
def test_every_from_dict_refuses_unknown_keys_by_name(cls):
    # DetectorModelConfig.from_dict used to drop unknown keys silently
    with pytest.raises(ValueError, match="no_such_key"):
        cls.from_dict({"no_such_key": 1})


def test_nested_dataclasses_are_built_and_missing_keys_keep_their_defaults():
    cfg = dataclass_from_dict(PipelineConfig, {
        "detector_sources": ["external"],
        "tracker": {"min_hits": 3},
        "smoothing": {"enabled": False, "joints": {"beta": 5.0}},
    })
    assert cfg.detector_sources == ("external",)
    assert cfg.tracker == TrackerConfig(min_hits=3)
    assert cfg.smoothing.joints == OneEuroParams(1.0, 5.0, 1.0)  # min_cutoff, d_cutoff: the defaults
    assert cfg.smoothing.transl == SmoothingConfig().transl and cfg.smoothing.enabled is False
    assert DetectorModelConfig.from_dict({"input_wh": [64, 48]}).input_wh == (64, 48)
    assert SmoothingConfig.from_dict(SmoothingConfig().to_dict()) == SmoothingConfig()
    assert TrackerConfig.from_dict(TrackerConfig().to_dict()) == TrackerConfig()


def test_shared_defaults_have_one_value():
    # the score floor: the node's detector.min_score (0.3), for the combination and each detector source
    floors = {
        TrackerConfig().min_detection_score, PipelineConfig().detector_min_score, DetectorConfig().min_score,
        DetectorConfig().learned_score_threshold, DetectorConfig().mediapipe_min_confidence,
    }
    assert floors == {0.3}
    # hands followed per image (the node's model.max_hands): tracker and MediaPipe
    assert TrackerConfig().max_hands == DetectorConfig().mediapipe_max_hands == 2
    # default detector sources: MediaPipe Hands (real cameras)
    assert PipelineConfig().detector_sources == ("mediapipe",) and DetectorConfig().sources == ["mediapipe"]
    assert PipelineConfig().external_wait_s == 0.1
    assert DetectorConfig().mediapipe_margin == TrackerConfig().keypoint_box_margin == 0.15
    assert EstimatorConfig.crop_scale == 1.75 and BACKENDS == ("torch", "onnxruntime", "tensorrt")


def test_settings_carry_description_range_and_choices():
    s = settings_of(EstimatorConfig)
    assert s["crop_scale"].range == (1.0, 4.0) and s["crop_scale"].default == 1.75
    assert s["backend"].choices == ("torch", "onnxruntime", "tensorrt") and s["checkpoint"].default is None
    smooth = settings_of(SmoothingConfig)
    assert smooth["betas.min_cutoff"].default == 0.3 and smooth["betas.min_cutoff"].range == (1e-3, 100.0)
    assert smooth["global_orient.beta"].description == "global_orient: cut-off increase per unit/s of speed"
    assert settings_of(TrackerConfig)["redetect_every_n"].range == (1, 1000)
