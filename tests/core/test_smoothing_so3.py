"""One Euro filter on SO(3): valid outputs, the +-pi wrap, q / -q flips, exact geodesic step response."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wildhands_core.smoothing import OneEuroParams, RotationOneEuroFilter, smoothing_factor

MS = 1_000_000  # ns
AXIS = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])


def _assert_valid(rotmat: np.ndarray) -> None:
    r = rotmat.reshape(-1, 3, 3)
    eye = np.broadcast_to(np.eye(3), r.shape)
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", r, r), eye, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)


def test_noisy_rotations_give_valid_rotation_matrices():
    rng = np.random.default_rng(1)
    f = RotationOneEuroFilter(OneEuroParams(1.0, 1.0, 1.0))
    for k in range(40):
        out = f.filter_matrix(Rotation.random(16, random_state=rng).as_matrix(), k * 33 * MS)
        assert out.shape == (16, 3, 3)
        _assert_valid(out)


def test_step_response_is_a_geodesic_with_the_exact_low_pass_rate():
    # beta = 0: each step moves the fraction alpha along the geodesic, so the remaining angle is
    # theta * (1 - alpha)^n and the rotation stays on the axis of the step.
    f = RotationOneEuroFilter(OneEuroParams(min_cutoff=1.5, beta=0.0, d_cutoff=1.0))
    f.filter(Rotation.identity(), 0)
    target = Rotation.from_rotvec(2.0 * AXIS)
    alpha = smoothing_factor(0.033, 1.5)
    for n in range(1, 20):
        out = f.filter(target, n * 33 * MS)
        np.testing.assert_allclose(out.as_rotvec(), 2.0 * (1 - (1 - alpha) ** n) * AXIS, atol=1e-10)


def test_rotation_crossing_pi_in_axis_angle_is_smoothed_without_jump():
    # angle 2.9 -> 3.9 rad about AXIS at 3 rad/s: the axis-angle form jumps from ~+pi*AXIS to ~-pi*AXIS,
    # the true geodesic steps are 0.1 rad. The smoothed steps stay <= the true step + 10 % (the filter
    # catches up its lag as the cut-off rises with the speed), and the error to the truth stays under the
    # low-pass lag of a 3 rad/s ramp at min_cutoff (3 / (2 pi 1 Hz) = 0.48 rad).
    f = RotationOneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.5, d_cutoff=1.0))
    angles = 2.9 + 3.0 * np.arange(0, 31) * 0.033
    truth = Rotation.from_rotvec(angles[:, None] * AXIS)
    rv = truth.as_rotvec()
    assert np.max(np.linalg.norm(np.diff(rv, axis=0), axis=1)) > 6.0  # the input does wrap
    outs = Rotation.concatenate([f.filter(truth[i], i * 33 * MS) for i in range(len(angles))])
    steps = (outs[:-1].inv() * outs[1:]).magnitude()
    assert np.max(steps) <= 0.11
    assert np.max((truth.inv() * outs).magnitude()) < 3.0 / (2 * np.pi)
    _assert_valid(outs.as_matrix())


def test_alternating_quaternion_signs_give_the_same_smooth_output():
    rng = np.random.default_rng(2)
    base = Rotation.from_rotvec(np.outer(np.linspace(0, 1.5, 40), AXIS))
    noisy = base * Rotation.from_rotvec(rng.normal(0, 0.02, (40, 3)))
    q = noisy.as_quat()
    signs = np.where(np.arange(40) % 2 == 0, 1.0, -1.0)[:, None]
    same, flipped = RotationOneEuroFilter(OneEuroParams(1.0, 1.0, 1.0)), RotationOneEuroFilter(
        OneEuroParams(1.0, 1.0, 1.0))
    prev = None
    for i in range(40):
        a = same.filter_quat(q[i:i + 1], i * 33 * MS)
        b = flipped.filter_quat(signs[i] * q[i:i + 1], i * 33 * MS)
        np.testing.assert_allclose(a, b, atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(b, axis=-1), 1.0, atol=1e-12)
        if prev is not None:
            assert float(np.sum(b * prev)) > 0.99  # same hemisphere and a small step
        prev = b


def test_duplicate_stamp_returns_previous_rotation_and_keeps_state():
    f = RotationOneEuroFilter(OneEuroParams(1.0, 1.0, 1.0))
    f.filter(Rotation.from_rotvec([0.1, 0, 0]), 0)
    before = f.filter(Rotation.from_rotvec([0.2, 0, 0]), 33 * MS)
    dup = f.filter(Rotation.from_rotvec([0.0, 3.0, 0]), 33 * MS)
    np.testing.assert_allclose(dup.as_quat(), before.as_quat(), atol=0)
    ref = RotationOneEuroFilter(OneEuroParams(1.0, 1.0, 1.0))
    ref.filter(Rotation.from_rotvec([0.1, 0, 0]), 0)
    ref.filter(Rotation.from_rotvec([0.2, 0, 0]), 33 * MS)
    np.testing.assert_allclose(f.filter(Rotation.from_rotvec([0.3, 0, 0]), 66 * MS).as_rotvec(),
                               ref.filter(Rotation.from_rotvec([0.3, 0, 0]), 66 * MS).as_rotvec(), atol=1e-15)


def test_angular_speed_converges_to_the_true_rate():
    # constant rotation at 2 rad/s: the filtered derivative is a low-pass of the lagged filter's rate,
    # which tends to 2 rad/s once the lag is steady.
    f = RotationOneEuroFilter(OneEuroParams(1.0, 0.0, 1.0))
    for i in range(200):
        f.filter(Rotation.from_rotvec(2.0 * i * 0.01 * AXIS), i * 10 * MS)
    assert f.angular_speed[0] == pytest.approx(2.0, rel=1e-3)


def test_rotvec_interface_returns_the_same_shape():
    f = RotationOneEuroFilter()
    out = f.filter_rotvec(np.array([0.1, 0.2, 0.3]), 0)
    assert out.shape == (3,)
    np.testing.assert_allclose(out, [0.1, 0.2, 0.3], atol=1e-12)


def test_each_rotation_can_have_its_own_parameters():
    """Two rotations stepping 0.2 rad about z in one sample (dt = 1/30 s, beta 0): each moves the fraction
    alpha = 1 / (1 + 1 / (2 pi fc dt)) of the step for its own cut-off fc (1 Hz: 0.1732, 10 Hz: 0.6771)."""
    f = RotationOneEuroFilter([OneEuroParams(min_cutoff=1.0), OneEuroParams(min_cutoff=10.0)])
    f.filter(Rotation.identity(2), 0)
    out = f.filter(Rotation.from_rotvec([[0.0, 0.0, 0.2]] * 2), 33_333_333).as_rotvec()
    dt = 0.033333333
    expected = [0.2 / (1 + 1 / (2 * np.pi * fc * dt)) for fc in (1.0, 10.0)]
    assert out[:, 2] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx([0.0346, 0.1354], abs=1e-4)
    with pytest.raises(ValueError, match="3 parameter sets for 2 rotations"):
        RotationOneEuroFilter([OneEuroParams()] * 3).filter(Rotation.identity(2), 0)
