"""TransformBuffer against transforms computed by hand (4x4 matrices), tf2's rules: lerp + slerp between
samples, chained through the tree, no extrapolation, no identity fallback; hand quantities re-expressed
consistently with MANO (joints = MANO(global orient, pose, betas) + translation)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wildhands_core.transforms import TransformBuffer, TransformError, hand_in_frame

S = 1_000_000_000


def _T(R: np.ndarray, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def _rz(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def _buffer() -> TransformBuffer:
    """base -> world static (1 m along x, 90 deg about z); world -> cam at t=0: origin, identity; at t=1 s:
    (0, 2, 0), 90 deg about z; base -> other static (not connected to 'island')."""
    b = TransformBuffer(max_gap_s=2.0)
    b.add("base", "world", 0, [1, 0, 0], Rotation.from_matrix(_rz(90)).as_quat(), static=True)
    b.add("world", "cam", 0, [0, 0, 0], [0, 0, 0, 1])
    b.add("world", "cam", S, [0, 2, 0], Rotation.from_matrix(_rz(90)).as_quat())
    b.add("island", "rock", 0, [0, 0, 0], [0, 0, 0, 1], static=True)
    return b


def test_interpolated_chained_lookup_equals_the_hand_computed_transform():
    b = _buffer()
    R, t = b.lookup("base", "cam", S // 2)
    # at 0.5 s: world->cam = (0, 1, 0), 45 deg about z (lerp + slerp); base->cam = base->world * world->cam
    T = _T(_rz(90), [1, 0, 0]) @ _T(_rz(45), [0, 1, 0])
    p = np.array([0.3, -0.2, 0.7])
    assert np.allclose(R.apply(p) + t, (T @ np.append(p, 1))[:3], atol=1e-9)
    # the inverse direction, and between two children of one parent
    Ri, ti = b.lookup("cam", "base", S // 2)
    assert np.allclose(Ri.apply(p) + ti, (np.linalg.inv(T) @ np.append(p, 1))[:3], atol=1e-9)
    R1, t1 = b.lookup("base", "cam", S)
    T1 = _T(_rz(90), [1, 0, 0]) @ _T(_rz(90), [0, 2, 0])
    assert np.allclose(R1.apply(p) + t1, (T1 @ np.append(p, 1))[:3])


def test_missing_transforms_raise_with_their_reason_never_identity():
    b = _buffer()
    for args, reason in [(("base", "cam", 2 * S), "extrapolation"), (("base", "cam", -1), "extrapolation"),
                         (("base", "nowhere", 0), "unknown_frame"), (("base", "rock", 0), "not_connected")]:
        with pytest.raises(TransformError) as e:
            b.lookup(*args)
        assert e.value.reason == reason
    stale = TransformBuffer(max_gap_s=0.5)
    stale.add("world", "cam", 0, [0, 0, 0], [0, 0, 0, 1])
    stale.add("world", "cam", S, [0, 0, 0], [0, 0, 0, 1])
    with pytest.raises(TransformError) as e:
        stale.lookup("world", "cam", S // 2)
    assert e.value.reason == "stale"
    assert np.allclose(stale.lookup("world", "cam", S)[1], 0)  # exactly on a sample: fine


def test_hand_in_frame_keeps_the_mano_relation():
    """joints = R_go (J - J0) + J0 + transl (MANO rotates about its rest wrist J0): with a random rest
    skeleton, re-expressing the hand must give joints' = R_go' (J - J0) + J0 + transl'."""
    rng = np.random.default_rng(2)
    J = rng.normal(size=(21, 3)) * 0.05
    J0 = J[0]
    go = Rotation.from_rotvec(rng.normal(size=3))
    transl = rng.normal(size=3) * 0.2 + [0, 0, 0.6]
    joints = go.apply(J - J0) + J0 + transl
    R, t = Rotation.from_rotvec(rng.normal(size=3)), rng.normal(size=3)
    h = hand_in_frame(R, t, joints, go.as_quat(), go.as_rotvec(), transl)
    assert np.allclose(h.joints_m, R.apply(joints) + t, atol=1e-12)
    rebuilt = Rotation.from_rotvec(h.global_orient_aa).apply(J - J0) + J0 + h.mano_translation_m
    assert np.allclose(rebuilt, h.joints_m, atol=1e-12)
    assert np.allclose(Rotation.from_quat(h.wrist_quat_xyzw).as_matrix(), (R * go).as_matrix())


def test_a_live_buffer_keeps_only_its_cache_time():
    b = TransformBuffer(cache_s=1.0)
    for k in range(30):
        b.add("world", "cam", k * S // 10, [k, 0, 0], [0, 0, 0, 1])
    assert np.allclose(b.lookup("world", "cam", 29 * S // 10)[1], [29, 0, 0])
    assert np.allclose(b.lookup("world", "cam", 19 * S // 10)[1], [19, 0, 0])  # 1 s old: kept
    with pytest.raises(TransformError):
        b.lookup("world", "cam", 18 * S // 10)


def test_hand_in_frame_with_the_real_mano_layer():
    """The same with smplx MANO itself (the procedural MANO-format hand where the licensed files are absent):
    MANO(global orient', pose, betas) + translation' reproduces R joints + t."""
    import torch

    from wildhands_core.mano.layer import ManoLayer

    mano = ManoLayer("right")
    rng = np.random.default_rng(4)
    pose = torch.as_tensor(np.concatenate([rng.normal(size=3), rng.normal(size=45) * 0.3]))[None]
    betas = torch.as_tensor(rng.normal(size=10))[None]
    transl = np.array([0.05, -0.02, 0.45])
    with torch.no_grad():
        joints = mano.forward_aa(pose, betas)["joints"][0].double().numpy() + transl
    go = pose[0, :3].numpy()
    R, t = Rotation.from_rotvec(rng.normal(size=3)), rng.normal(size=3)
    h = hand_in_frame(R, t, joints, Rotation.from_rotvec(go).as_quat(), go, transl)
    pose2 = pose.clone()
    pose2[0, :3] = torch.as_tensor(h.global_orient_aa)
    with torch.no_grad():
        rebuilt = mano.forward_aa(pose2, betas)["joints"][0].double().numpy() + h.mano_translation_m
    assert np.max(np.abs(rebuilt - (R.apply(joints) + t))) < 1e-6


def test_hand_in_frame_gives_the_global_orientation_in_the_release_convention():
    """A hand orientation of 120 deg about -x in the new frame: the release mapping keeps the x candidate of
    its quaternion, whose w = -1/2, so the node's convention (msg/Hand.msg) is 240 deg about +x; scipy's
    sign-standardised ``as_rotvec`` would give 120 deg about -x (the same rotation, another MANO input)."""
    J = np.zeros((21, 3))
    go = Rotation.from_rotvec([-2 * np.pi / 3, 0.0, 0.0])
    h = hand_in_frame(Rotation.identity(), np.zeros(3), J, go.as_quat(), go.as_rotvec(), np.zeros(3))
    assert h.global_orient_aa.tolist() == pytest.approx([4 * np.pi / 3, 0.0, 0.0], abs=1e-9)
