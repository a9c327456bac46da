"""One Euro filter on arrays: exact low-pass maths, irregular stamps, duplicate stamps, isotropy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wildhands_core.smoothing import OneEuroFilter, OneEuroParams, smoothing_factor

MS = 1_000_000  # ns


def test_smoothing_factor_matches_first_order_lowpass_formula():
    # tau = 1 / (2 pi 1 Hz) = 0.159155 s; dt = 1/30 s -> alpha = 1 / (1 + 0.159155 * 30) = 0.173171
    assert smoothing_factor(1.0 / 30.0, 1.0) == pytest.approx(0.173171, abs=1e-6)


def test_constant_signal_passes_through_exactly():
    f = OneEuroFilter(OneEuroParams(1.0, 10.0, 1.0))
    x = np.full((21, 3), 0.25)
    for k in range(50):
        np.testing.assert_array_equal(f.filter(x, k * 33 * MS), x)


def test_constant_after_a_step_converges_with_the_exact_geometric_rate():
    # beta = 0: an exponential smoother, error after n samples = H * (1 - alpha)^n exactly.
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0, d_cutoff=1.0))
    f.filter(np.zeros(3), 0)
    alpha = smoothing_factor(0.033, 1.0)
    for n in range(1, 61):
        y = f.filter(np.full(3, 5.0), n * 33 * MS)
        np.testing.assert_allclose(5.0 - y, 5.0 * (1 - alpha) ** n, rtol=1e-9)
    assert np.all(np.abs(5.0 - y) < 1e-3)  # alpha(33 ms) = 0.1717: 5 * 0.8283^60 = 6e-5


def test_step_is_followed_at_least_as_fast_as_the_min_cutoff_bound_when_beta_is_positive():
    # alpha(fc) grows with fc >= min_cutoff, so the error is at most H * (1 - alpha(min_cutoff))^n, and the
    # speed term makes it strictly smaller.
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.5, d_cutoff=1.0))
    f.filter(np.zeros(2), 0)
    alpha_min = smoothing_factor(0.033, 1.0)
    errors = []
    for n in range(1, 31):
        errors.append(1.0 - f.filter(np.ones(2), n * 33 * MS)[0])
        assert 0.0 <= errors[-1] <= (1 - alpha_min) ** n + 1e-12
    assert errors[5] < 0.9 * (1 - alpha_min) ** 6


def test_alpha_comes_from_the_real_dt_for_irregular_stamps_and_dropped_frames():
    f = OneEuroFilter(OneEuroParams(min_cutoff=2.0, beta=0.0, d_cutoff=1.0))
    f.filter(np.array([0.0]), 0)
    y1 = f.filter(np.array([1.0]), 10 * MS)  # 10 ms
    assert y1[0] == pytest.approx(smoothing_factor(0.010, 2.0))
    y2 = f.filter(np.array([1.0]), 60 * MS)  # then 50 ms (dropped frames)
    a2 = smoothing_factor(0.050, 2.0)
    assert y2[0] == pytest.approx(y1[0] + a2 * (1.0 - y1[0]))


def test_irregular_stamps_on_a_ramp_give_no_spike():
    # x = v t sampled at 10 ms / 50 ms / 33 ms steps: the output stays monotonic, below the input, and
    # its lag stays under the steady-state lag of the min_cutoff low-pass, v * tau = 0.5 / (2 pi) m.
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0, d_cutoff=1.0))
    v = 0.5  # m/s
    steps_ms = [10, 50, 33, 10, 10, 50, 1, 66, 33] * 10
    t_ms = np.concatenate([[0], np.cumsum(steps_ms)])
    out = np.array([f.filter(np.array([v * t / 1000]), int(t) * MS)[0] for t in t_ms])
    assert np.all(np.diff(out) >= 0.0)
    assert np.all(out <= v * t_ms / 1000 + 1e-12)
    assert np.max(v * t_ms / 1000 - out) <= v / (2 * np.pi * 1.0) + 1e-9


def test_duplicate_or_backwards_stamp_returns_previous_output_and_keeps_state():
    params = OneEuroParams(1.0, 0.3, 1.0)
    clean, dirty = OneEuroFilter(params), OneEuroFilter(params)
    for f in (clean, dirty):
        f.filter(np.array([0.0, 1.0]), 0)
        f.filter(np.array([0.1, 1.1]), 33 * MS)
    before = dirty.filter(np.array([0.1, 1.1]), 33 * MS)
    spike = dirty.filter(np.array([1000.0, -1000.0]), 33 * MS)  # duplicate stamp
    back = dirty.filter(np.array([1000.0, -1000.0]), 20 * MS)  # backwards stamp
    np.testing.assert_array_equal(spike, before)
    np.testing.assert_array_equal(back, before)
    np.testing.assert_array_equal(dirty.filter(np.array([0.2, 1.2]), 66 * MS),
                                  clean.filter(np.array([0.2, 1.2]), 66 * MS))


def test_per_point_speed_makes_the_filter_commute_with_rotations_of_the_frame():
    rng = np.random.default_rng(0)
    R = Rotation.from_rotvec([0.3, -1.2, 0.7]).as_matrix()
    a, b = OneEuroFilter(OneEuroParams(1.0, 20.0, 1.0), norm_axis=-1), OneEuroFilter(
        OneEuroParams(1.0, 20.0, 1.0), norm_axis=-1)
    for k in range(20):
        x = rng.normal(0, 0.05, (21, 3)) + 0.01 * k
        np.testing.assert_allclose(b.filter(x @ R.T, k * 33 * MS), a.filter(x, k * 33 * MS) @ R.T, atol=1e-12)


def test_reset_makes_the_next_sample_pass_through_and_shape_change_needs_reset():
    f = OneEuroFilter()
    f.filter(np.zeros(3), 0)
    with pytest.raises(ValueError):
        f.filter(np.zeros(4), 33 * MS)
    f.reset()
    np.testing.assert_array_equal(f.filter(np.ones(4), 66 * MS), np.ones(4))


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError):
        OneEuroParams(min_cutoff=0.0)
    with pytest.raises(ValueError):
        OneEuroParams(beta=-1.0)
