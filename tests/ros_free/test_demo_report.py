"""The demo's own figures (``wildhands_ros.demo.report``) from trajectories whose answers are known by hand:
jitter at the played rate, the delay the smoothing adds, and the accounting of every played frame."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_ros.demo.report import alignment_lag_s, compute_metrics

N = 90


def _truth(rate_hz: float, accel_m_s2: float = 2.0) -> dict[str, np.ndarray]:
    """Right hand only; every joint at x = a t^2 / 2 (a constant acceleration of a m/s^2), t = i / rate."""
    t = np.arange(N) / rate_hz
    joints = np.zeros((N, 2, 21, 3))
    joints[:, 0, :, 0] = 0.5 * accel_m_s2 * t[:, None] ** 2
    joints[:, 0, :, 2] = 0.5
    return {
        "joints_cam_m": joints,
        "present": np.tile([True, False], (N, 1)),
        "keypoints_px": np.zeros((N, 2, 21, 2)),
        "keypoints_visible": np.zeros((N, 2, 21), bool),
    }


def _answers(joints: np.ndarray, frames: list[int]) -> dict[int, dict]:
    return {i: {"right": {"joints_m": joints[i], "keypoints_px": np.zeros((21, 2))}} for i in frames}


def test_jitter_is_computed_at_the_played_rate() -> None:
    # x = a t^2 / 2 has acceleration a = 2 m/s^2 = 2000 mm/s^2 at any rate, also when frames are skipped
    # (the non-uniform second difference is exact for quadratics); stamps of i / 30 at 10 Hz would give 9x.
    truth = _truth(10.0)
    every_other = list(range(0, N, 2)) + [N - 1]
    ans = _answers(truth["joints_cam_m"][:, 0], every_other)
    m = compute_metrics(truth, ans, ans, played=N, dropped_by_node=N - len(ans), play_time_s=N / 10.0,
                        latencies_ms=[], recorded=len(ans), rate_hz=10.0)
    assert m["jitter_truth_mm_s2"] == pytest.approx(2000.0, rel=1e-6)
    assert m["jitter_smoothed_mm_s2"] == pytest.approx(2000.0, rel=1e-6)


def _wave(t: np.ndarray) -> np.ndarray:
    """(T, 3) a wrist moving on two sinusoids (metres)."""
    x, y = 0.1 * np.sin(2 * np.pi * 0.8 * t), 0.05 * np.cos(2 * np.pi * 1.3 * t)
    return np.stack([x, y, 0.4 + 0 * t], axis=1)


def test_alignment_finds_a_known_delay_despite_a_constant_bias() -> None:
    t_truth = np.arange(150) / 30.0
    answered = t_truth[::2]  # the node answered every other frame
    bias = np.array([0.05, -0.03, 0.08])  # a model's constant error: 10 cm
    for delay_s in (0.0, 0.04, 0.1):
        est = _wave(answered - delay_s) + bias
        assert alignment_lag_s(est, answered, _wave(t_truth), t_truth) == pytest.approx(delay_s, abs=1e-3)


def test_smoothing_lag_is_the_delay_the_smoothing_adds() -> None:
    rate = 30.0
    t = np.arange(N) / rate
    truth = _truth(rate)
    truth["joints_cam_m"][:, 0, :, :] = _wave(t)[:, None, :]
    bias = np.array([0.04, 0.02, -0.05])
    raw_j = (_wave(t - 0.01) + bias)[:, None, :].repeat(21, axis=1)  # the model itself is 10 ms late
    sm_j = (_wave(t - 0.01 - 0.05) + bias)[:, None, :].repeat(21, axis=1)  # the smoothing adds 50 ms
    frames = list(range(0, N, 2))
    m = compute_metrics(truth, _answers(sm_j, frames), _answers(raw_j, frames), played=N,
                        dropped_by_node=N - len(frames), play_time_s=N / rate, latencies_ms=[],
                        recorded=len(frames), rate_hz=rate)
    assert m["smoothing_lag_ms"] == pytest.approx(50.0, abs=1.0)


def test_every_played_frame_is_accounted_for() -> None:
    truth = _truth(30.0)
    frames = list(range(0, 60))
    ans = _answers(truth["joints_cam_m"][:, 0], frames)
    # 90 played: 60 recorded, 20 dropped (busy), 4 never reached the node, 3 rejected, 1 failed,
    # 2 published but not in the bag -> 90 accounted, 0 unanswered
    counts = {"frames_received": 86, "frames_published": 62, "frames_failed": 1, "rejected_total": 3}
    m = compute_metrics(truth, ans, ans, played=N, dropped_by_node=20, play_time_s=3.0, latencies_ms=[],
                        recorded=60, node_counts=counts)
    assert (m["frames_lost_before_node"], m["frames_rejected_by_node"], m["frames_failed_by_node"],
            m["frames_published_not_recorded"], m["frames_unanswered"]) == (4, 3, 1, 2, 0)
    m = compute_metrics(truth, ans, ans, played=N, dropped_by_node=20, play_time_s=3.0, latencies_ms=[],
                        recorded=60, node_counts={**counts, "frames_failed": 0})
    assert m["frames_unanswered"] == 1
