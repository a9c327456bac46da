"""Evaluation: the paper's metrics through the estimator, exact zeros for a perfect estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from train_helpers import make_synth, tiny_model_config

from training.datasets.synthetic import SyntheticHandsDataset
from training.evaluate import checkpoint_crop_scale, evaluate_checkpoint, evaluate_dataset
from wildhands_core.checkpoint import save_checkpoint
from wildhands_core.estimate import HandEstimate
from wildhands_core.model.wildhands_net import WildHandsNet


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return make_synth(tmp_path_factory.mktemp("synth") / "d", frames=3)


class GroundTruthEstimator:
    """Returns the dataset's own labels: every error must be exactly zero (tests the bookkeeping)."""

    def __init__(self, dataset):
        self.by_box = {tuple(np.round(dataset[i].box_xyxy_px, 3)): dataset[i] for i in range(len(dataset))}

    def estimate(self, image, K, boxes):
        out = []
        for b in boxes:
            s = self.by_box[tuple(np.round(b.box_xyxy_px, 3))]
            out.append(HandEstimate(
                is_right=b.is_right, global_orient_aa=np.zeros(3), hand_pose_aa=np.zeros(45),
                betas=np.zeros(10), transl_m=np.zeros(3), joints_m=s.joints_cam_m.astype(np.float64),
                keypoints_px=s.keypoints_px.astype(np.float64), box_xyxy_px=b.box_xyxy_px,
                crop_xyxy_px=np.array([0.0, 0.0, 100.0, 100.0]), confidence=1.0, grasp_prob=np.zeros(9)))
        return out


def test_a_perfect_estimator_scores_zero_on_every_metric(synth):
    ds = SyntheticHandsDataset(synth)
    r = evaluate_dataset(GroundTruthEstimator(ds), ds)
    assert r["hands"] == len(ds)
    assert r["frames_two_hands"] >= 1
    for k in ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm"):
        assert r[k] == pytest.approx(0.0, abs=1e-6), k
    for k in ("kp2d_crop_px", "kp2d_l2_224px"):
        assert r[k] == pytest.approx(0.0, abs=1e-9) or math.isnan(r[k]), k
    assert r["pa_mpjpe_authors_mm"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_a_project_checkpoint_is_evaluated_through_the_estimator(synth, tmp_path):
    net = WildHandsNet(tiny_model_config())
    path = tmp_path / "tiny.pt"
    save_checkpoint(path, net, extra={"train_config": {"augment": {"crop_scale": 1.5}}})
    assert checkpoint_crop_scale(path) == 1.5
    res = evaluate_checkpoint(path, {"synth": SyntheticHandsDataset(synth)})
    r = res["synth"]
    assert r["hands"] == len(SyntheticHandsDataset(synth))
    for k in ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm"):
        assert math.isfinite(r[k]) and r[k] > 0, k
    assert r["pa_mpjpe_mm"] <= r["mpjpe_mm"] + 1e-6  # alignment can only reduce the error
