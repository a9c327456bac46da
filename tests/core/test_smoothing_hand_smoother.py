"""HandSmoother: which keys it smooths, rotations through SO(3), reset and run-time parameters."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.smoothing import HandSmoother, OneEuroParams, SmoothingConfig, smoothing_factor

MS = 1_000_000  # ns


def _estimate(rng: np.random.Generator, global_angle: float = 0.5) -> dict:
    rotvec = rng.normal(0, 0.3, (16, 3))
    rotvec[0] = global_angle * np.array([0.0, 0.0, 1.0])
    return {
        "joints_cam_m": rng.normal(0, 0.05, (21, 3)) + [0, 0, 0.5],
        "mano_transl_m": np.array([0.0, 0.0, 0.5]),
        "mano_betas": rng.normal(0, 1, 10),
        "mano_pose_aa": rotvec.reshape(48),
        "mano_rotmat": Rotation.from_rotvec(rotvec).as_matrix(),
        "grasp_logits": np.arange(9.0),
    }


def test_first_estimate_passes_through_and_unknown_keys_are_copied():
    est = _estimate(np.random.default_rng(0))
    out = HandSmoother().smooth(0, est)
    for k in ("joints_cam_m", "mano_transl_m", "mano_betas", "mano_pose_aa"):
        np.testing.assert_allclose(out[k], est[k], atol=1e-12)
    np.testing.assert_allclose(out["mano_rotmat"], est["mano_rotmat"], atol=1e-12)
    assert out["grasp_logits"] is est["grasp_logits"]


def test_constant_estimate_stays_constant():
    est = _estimate(np.random.default_rng(1))
    sm = HandSmoother()
    for k in range(10):
        out = sm.smooth(k * 33 * MS, est)
    np.testing.assert_allclose(out["joints_cam_m"], est["joints_cam_m"], atol=1e-12)
    np.testing.assert_allclose(out["mano_rotmat"], est["mano_rotmat"], atol=1e-12)


def test_joints_step_follows_the_joint_filter_and_pose_aa_agrees_with_rotmat():
    cfg = SmoothingConfig(joints=OneEuroParams(2.0, 0.0, 1.0))
    sm = HandSmoother(cfg)
    rng = np.random.default_rng(2)
    a, b = _estimate(rng), _estimate(rng)
    sm.smooth(0, a)
    out = sm.smooth(40 * MS, b)
    alpha = smoothing_factor(0.040, 2.0)
    ja, jb = a["joints_cam_m"], b["joints_cam_m"]
    np.testing.assert_allclose(out["joints_cam_m"], ja + alpha * (jb - ja))
    np.testing.assert_allclose(Rotation.from_rotvec(out["mano_pose_aa"].reshape(16, 3)).as_matrix(),
                               out["mano_rotmat"], atol=1e-12)


def test_global_orientation_across_pi_is_not_averaged_in_axis_angle():
    # global angle 3.1 then 3.2 rad about z: axis-angle flips to about -3.08 z. Averaging components would
    # give a rotation near identity; the SO(3) filter stays within the 0.1 rad between the two.
    sm = HandSmoother()
    rng = np.random.default_rng(3)
    sm.smooth(0, _estimate(rng, 3.1))
    out = sm.smooth(33 * MS, _estimate(rng, 3.2))
    g = Rotation.from_matrix(out["mano_rotmat"][0])
    assert (Rotation.from_rotvec([0, 0, 3.1]).inv() * g).magnitude() <= 0.1 + 1e-9
    assert (Rotation.from_rotvec([0, 0, 3.2]).inv() * g).magnitude() <= 0.1 + 1e-9


def test_reset_makes_the_next_estimate_pass_through():
    rng = np.random.default_rng(4)
    sm = HandSmoother()
    sm.smooth(0, _estimate(rng))
    sm.reset()
    assert not sm.initialized
    est = _estimate(rng)
    np.testing.assert_allclose(sm.smooth(33 * MS, est)["joints_cam_m"], est["joints_cam_m"], atol=0)


def test_update_config_at_run_time_changes_the_filtering():
    rng = np.random.default_rng(5)
    a, b = _estimate(rng), _estimate(rng)
    sm = HandSmoother()
    sm.smooth(0, a)
    sm.update_config(SmoothingConfig(enabled=False))
    np.testing.assert_array_equal(sm.smooth(33 * MS, b)["joints_cam_m"], b["joints_cam_m"])
    sm.update_config(SmoothingConfig(joints=OneEuroParams(1000.0, 0.0, 1.0)))  # alpha(66 ms) = 0.9976
    out = sm.smooth(66 * MS, a)["joints_cam_m"]
    gap = np.max(np.abs(a["joints_cam_m"] - b["joints_cam_m"]))
    assert np.max(np.abs(out - a["joints_cam_m"])) < 0.01 * gap


def test_config_round_trips_through_a_plain_dict():
    cfg = SmoothingConfig(joints=OneEuroParams(2.0, 3.0, 1.5))
    assert SmoothingConfig.from_dict(cfg.to_dict()) == cfg
