"""HandSmoother: which fields of a HandEstimate it smooths, rotations through SO(3), reset and run-time
parameters."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from wildhands_core.camera import project_points
from wildhands_core.estimate import HandEstimate
from wildhands_core.rotations import rotmat_to_axis_angle_release
from wildhands_core.smoothing import HandSmoother, OneEuroParams, SmoothingConfig, smoothing_factor

MS = 1_000_000  # ns
K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def _estimate(rng: np.random.Generator, global_angle: float = 0.5) -> HandEstimate:
    rotvec = rng.normal(0, 0.3, (16, 3))
    rotvec[0] = global_angle * np.array([0.0, 0.0, 1.0])
    joints = rng.normal(0, 0.05, (21, 3)) + [0, 0, 0.5]
    return HandEstimate(
        is_right=True,
        global_orient_aa=rotvec[0],
        hand_pose_aa=rotvec[1:].reshape(45),
        betas=rng.normal(0, 1, 10),
        transl_m=np.array([0.0, 0.0, 0.5]),
        joints_m=joints,
        keypoints_px=project_points(joints, K),
        box_xyxy_px=np.array([10.0, 20.0, 110.0, 120.0]),
        crop_xyxy_px=np.array([0.0, 0.0, 130.0, 140.0]),
        confidence=0.8,
        grasp_prob=np.full(9, 1.0 / 9.0),
        vertices_m=rng.normal(0, 0.05, (778, 3)) + [0, 0, 0.5],
        track_id=3,
    )


def _rotations(e: HandEstimate) -> Rotation:
    """The 16 MANO rotations of an estimate."""
    return Rotation.from_rotvec(np.concatenate([e.global_orient_aa, e.hand_pose_aa]).reshape(16, 3))


def _rotmat(e: HandEstimate) -> np.ndarray:
    return _rotations(e).as_matrix()


def test_first_estimate_passes_through_and_unsmoothed_fields_are_copied():
    est = _estimate(np.random.default_rng(0))
    out = HandSmoother().smooth(0, est, K)
    for k in ("joints_m", "transl_m", "betas", "keypoints_px", "vertices_m"):
        np.testing.assert_allclose(getattr(out, k), getattr(est, k), atol=1e-12)
    np.testing.assert_allclose(_rotmat(out), _rotmat(est), atol=1e-12)
    assert out.grasp_prob is est.grasp_prob and out.box_xyxy_px is est.box_xyxy_px
    assert (out.is_right, out.track_id, out.confidence) == (True, 3, 0.8)


def test_constant_estimate_stays_constant():
    est = _estimate(np.random.default_rng(1))
    sm = HandSmoother()
    for k in range(10):
        out = sm.smooth(k * 33 * MS, est, K)
    np.testing.assert_allclose(out.joints_m, est.joints_m, atol=1e-12)
    np.testing.assert_allclose(_rotmat(out), _rotmat(est), atol=1e-12)


def test_joints_step_follows_the_joint_filter_and_derived_fields_follow_the_joints():
    cfg = SmoothingConfig(joints=OneEuroParams(2.0, 0.0, 1.0))
    sm = HandSmoother(cfg)
    rng = np.random.default_rng(2)
    a, b = _estimate(rng), _estimate(rng)
    sm.smooth(0, a, K)
    out = sm.smooth(40 * MS, b, K)
    alpha = smoothing_factor(0.040, 2.0)
    ja, jb = a.joints_m, b.joints_m
    np.testing.assert_allclose(out.joints_m, ja + alpha * (jb - ja))
    # keypoints: the pinhole projection of the smoothed joints; mesh: moved with the smoothed wrist
    u = K[0, 0] * out.joints_m[:, 0] / out.joints_m[:, 2] + K[0, 2]
    np.testing.assert_allclose(out.keypoints_px[:, 0], u, rtol=1e-12)
    np.testing.assert_allclose(out.vertices_m, b.vertices_m + (out.joints_m[0] - jb[0]), atol=1e-15)
    # without K the estimate's own keypoints are kept
    assert HandSmoother(cfg).smooth(0, b).keypoints_px is b.keypoints_px


def test_smoothed_axis_angle_is_in_the_release_convention():
    sm = HandSmoother()
    rng = np.random.default_rng(6)
    # about -z by ~3 rad: the release writes it as (2 pi - angle) about +z, scipy as angle about -z
    sm.smooth(0, _estimate(rng, -3.0))
    out = sm.smooth(33 * MS, _estimate(rng, -3.1))
    aa = np.concatenate([out.global_orient_aa, out.hand_pose_aa]).reshape(16, 3)
    release = rotmat_to_axis_angle_release(torch.from_numpy(_rotmat(out))).numpy()
    np.testing.assert_allclose(aa, release, atol=1e-12)
    assert out.global_orient_aa[2] > np.pi  # not scipy's rotation vector (angle <= pi)
    assert out.global_orient_aa.shape == (3,) and out.hand_pose_aa.shape == (45,)


def test_global_orientation_across_pi_is_not_averaged_in_axis_angle():
    # global angle 3.1 then 3.2 rad about z: axis-angle flips to about -3.08 z. Averaging components would
    # give a rotation near identity; the SO(3) filter stays within the 0.1 rad between the two.
    sm = HandSmoother()
    rng = np.random.default_rng(3)
    sm.smooth(0, _estimate(rng, 3.1))
    out = sm.smooth(33 * MS, _estimate(rng, 3.2))
    g = _rotations(out)[0]
    assert (Rotation.from_rotvec([0, 0, 3.1]).inv() * g).magnitude() <= 0.1 + 1e-9
    assert (Rotation.from_rotvec([0, 0, 3.2]).inv() * g).magnitude() <= 0.1 + 1e-9


def test_reset_makes_the_next_estimate_pass_through():
    rng = np.random.default_rng(4)
    sm = HandSmoother()
    sm.smooth(0, _estimate(rng))
    sm.reset()
    assert not sm.initialized
    est = _estimate(rng)
    np.testing.assert_allclose(sm.smooth(33 * MS, est).joints_m, est.joints_m, atol=0)


def test_update_config_at_run_time_changes_the_filtering():
    rng = np.random.default_rng(5)
    a, b = _estimate(rng), _estimate(rng)
    sm = HandSmoother()
    sm.smooth(0, a)
    sm.update_config(SmoothingConfig(enabled=False))
    disabled = sm.smooth(33 * MS, b, K)
    np.testing.assert_array_equal(disabled.joints_m, b.joints_m)
    assert disabled is not b  # a copy: the caller may set its id and side
    sm.update_config(SmoothingConfig(joints=OneEuroParams(1000.0, 0.0, 1.0)))  # alpha(66 ms) = 0.9976
    out = sm.smooth(66 * MS, a).joints_m
    gap = np.max(np.abs(a.joints_m - b.joints_m))
    assert np.max(np.abs(out - a.joints_m)) < 0.01 * gap


def test_config_round_trips_through_a_plain_dict():
    cfg = SmoothingConfig(joints=OneEuroParams(2.0, 3.0, 1.5))
    assert SmoothingConfig.from_dict(cfg.to_dict()) == cfg
