"""Evaluation: the paper's metrics through the estimator, exact zeros for a perfect estimator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from train_helpers import make_synth, tiny_model_config

from training.datasets.synthetic import SyntheticHandsDataset
from training.evaluate import checkpoint_crop_scale, evaluate_checkpoint, evaluate_dataset
from training.sample import HandSample
from wildhands_core.checkpoint import save_checkpoint
from wildhands_core.estimate import HandEstimate
from wildhands_core.metrics import pa_mpjpe_mm
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


class _Frames:
    """An in-memory adapter: ``frames`` is a list of frames, each a list of (is_right, number of visible
    keypoints, 2D error px, 3D joints or None, predicted 3D joints or None). 224x224 images, so the whole
    image letterboxed to 224 is the image itself."""

    name = "frames"

    def __init__(self, frames):
        self.samples, self.groups = [], []
        for f, hands in enumerate(frames):
            self.groups.append([])
            for h, (is_right, n_visible, err_px, gt3d, pred3d) in enumerate(hands):
                uv = np.stack([np.linspace(20.0, 200.0, 21), np.full(21, 30.0 + 40 * h)], axis=1)
                valid = np.arange(21) < n_visible
                box = np.array([10.0 + f, 10.0 + 40 * h, 210.0, 40.0 + 40 * h])
                self.groups[-1].append(len(self.samples))
                self.samples.append(HandSample(
                    image=np.zeros((224, 224, 3), np.uint8), K_px=np.diag([200.0, 200.0, 1.0]),
                    box_xyxy_px=box, is_right=is_right, frame_id=f"{f}/{h}", joints_cam_m=gt3d,
                    keypoints_px=uv, keypoints_valid=valid,
                    extra={"pred_uv": uv + [0.0, err_px], "pred3d": pred3d}))

    def frame_groups(self):
        return self.groups

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


class _Predicts:
    """Returns each sample's ``extra["pred_uv"]`` / ``extra["pred3d"]`` (looked up by box)."""

    def __init__(self, dataset):
        self.by_box = {tuple(s.box_xyxy_px): s for s in dataset.samples}

    def estimate(self, image, K, boxes):
        out = []
        for b in boxes:
            s = self.by_box[tuple(b.box_xyxy_px)]
            joints = s.extra["pred3d"] if s.extra["pred3d"] is not None else np.zeros((21, 3))
            out.append(HandEstimate(
                is_right=b.is_right, global_orient_aa=np.zeros(3), hand_pose_aa=np.zeros(45),
                betas=np.zeros(10), transl_m=np.zeros(3), joints_m=joints, keypoints_px=s.extra["pred_uv"],
                box_xyxy_px=b.box_xyxy_px, crop_xyxy_px=np.array([0.0, 0.0, 224.0, 224.0]), confidence=1.0,
                grasp_prob=np.zeros(9)))
        return out


def test_the_2d_error_is_the_mean_over_every_visible_joint_pooled_as_the_authors_do():
    """The authors (ap229997/hands): ``compute_pixel_error`` (common/metrics.py L35-44) sets the error of
    every joint outside ``joints_valid * right_valid`` to NaN; ``eval_pixel_error`` (src/utils/eval_modules.py
    L410-428) concatenates both hands' joint errors (``pix_err/h``); ``inference_epoch_end``
    (common/abstract_pl.py L134-137) takes ``np.nanmean`` of all of them: one mean over every visible
    joint of every counted hand (a hand counts with more than 3 visible joints, epic_dataset.py L499-500).
    Frame A: 4 joints at 2 px and 21 at 20 px; frame B: 10 at 5 px; frame C: 3 joints at 100 px (not counted):
    (4 x 2 + 21 x 20 + 10 x 5) / 35 = 478 / 35 = 13.657 px (a mean per hand, then per frame, gives 8)."""
    ds = _Frames([[(True, 4, 2.0, None, None), (False, 21, 20.0, None, None)],
                  [(True, 10, 5.0, None, None)],
                  [(True, 3, 100.0, None, None)]])
    r = evaluate_dataset(_Predicts(ds), ds)
    assert r["kp2d_l2_224px"] == pytest.approx(478.0 / 35.0)
    assert r["kp2d_crop_px"] == pytest.approx(478.0 / 35.0)  # the crop is the whole 224 image here


def test_the_authors_pa_mpjpe_divides_by_all_frames_evaluated():
    """The authors' ``compute_errors`` (src/utils/eval_modules.py L189-219) gives an invalid hand 0
    (``np.mean(pa_error) * valid[i]``), ``eval_mpjpe_pa_ra`` (L319-331) averages the two hands of EVERY
    frame of the batch and ``np.nanmean`` (common/abstract_pl.py L137) averages over every frame: the sum of
    the valid hands' errors / (2 x all frames). Frame A: one hand with a PA error e; frame B: a hand with
    exact 3D; frame C: a hand with 2D only. Authors: (e + 0) / (2 x 3); dividing by the 2 frames with 3D
    gives e / 4."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(-0.05, 0.05, size=(21, 3)) + [0.0, 0.0, 0.5]
    pred = gt.copy()
    pred[8] += [0.01, -0.02, 0.005]
    e = float(pa_mpjpe_mm(pred, gt)[0])
    assert e > 1.0
    ds = _Frames([[(True, 21, 0.0, gt, pred)], [(False, 21, 0.0, gt, gt.copy())],
                  [(True, 21, 0.0, None, None)]])
    r = evaluate_dataset(_Predicts(ds), ds)
    assert r["pa_mpjpe_authors_mm"] == pytest.approx(e / 6.0)
