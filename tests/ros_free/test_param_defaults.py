"""config/hands.yaml holds the core's runtime defaults: every model/detector/tracking/smoothing value of the
file equals the default of the core config field behind it (mapping written here by hand, no rclpy)."""

from __future__ import annotations

from pathlib import Path

import yaml

from wildhands_core.estimator import EstimatorConfig
from wildhands_core.pipeline import PipelineConfig
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.tracking.config import TrackerConfig

ROOT = Path(__file__).resolve().parents[2]


def _file() -> dict:
    return yaml.safe_load((ROOT / "config/hands.yaml").read_text())["/**"]["ros__parameters"]


def test_model_detector_and_tracking_values_are_the_core_defaults():
    f, est, pipe, tr = _file(), EstimatorConfig(allow_random_weights=True), PipelineConfig(), TrackerConfig()
    m, d, t = f["model"], f["detector"], f["tracking"]
    assert m["checkpoint"] == "" and est.checkpoint is None  # empty = unset
    assert m["mano_dir"] == "" and est.mano_dir is None
    assert m["onnx_path"] == "" and est.onnx_path is None
    assert m["allow_random_weights"] is EstimatorConfig.allow_random_weights is False
    assert (m["backend"], m["device"], m["threads"]) == (est.backend, est.device, est.threads)
    assert m["crop_scale"] == est.crop_scale and m["publish_mesh"] == est.return_vertices
    assert m["max_hands"] == tr.max_hands
    assert d["sources"] == list(pipe.detector_sources)
    assert d["learned_checkpoint"] == "" and pipe.learned_detector_checkpoint is None
    assert d["min_score"] == pipe.detector_min_score == tr.min_detection_score
    assert d["iou_threshold"] == pipe.detector_iou_threshold
    assert d["external_tolerance_s"] == pipe.external_tolerance_s
    assert d["external_wait_s"] == pipe.external_wait_s
    assert t["enabled"] == pipe.tracking
    assert t["untracked_side_margin"] == pipe.untracked_side_margin
    tracking_keys = ("min_hits", "max_missed", "redetect_every_n", "redetect_every_s", "search_every_n",
                     "one_per_side", "lock_side", "require_plausible", "min_plausible_estimates",
                     "max_implausible_estimates", "max_hand_depth_m", "detection_gain", "replace_lost_side",
                     "estimate_side_weight", "low_detection_score", "merged_box_cover")
    for key in tracking_keys:
        assert t[key] == getattr(tr, key), key
    # every key of these sections was compared above
    assert set(m) == {"checkpoint", "mano_dir", "onnx_path", "allow_random_weights", "backend", "device",
                      "threads", "crop_scale", "publish_mesh", "max_hands"}
    assert set(d) == {"sources", "learned_checkpoint", "min_score", "iou_threshold", "external_tolerance_s",
                      "external_wait_s"}
    assert set(t) == {"enabled", "untracked_side_margin", *tracking_keys}


def test_smoothing_values_are_the_core_defaults():
    s, core = _file()["smoothing"], SmoothingConfig()
    assert s["enabled"] == core.enabled
    quantities = {k for k in s if k != "enabled"}
    assert quantities == {"joints", "transl", "betas", "global_orient", "finger_rotations"}
    for q in quantities:
        p = getattr(core, q)
        assert s[q] == {"min_cutoff": p.min_cutoff, "beta": p.beta, "d_cutoff": p.d_cutoff}, q
