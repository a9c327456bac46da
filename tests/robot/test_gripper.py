"""Gripper targets on synthetic hands: the thumb-tip and index-tip joints (MANO21 16 and 17, msg/Hand.msg)
placed at a known distance give that aperture; the command and hysteresis follow the documented mapping."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_core.gripper import GripperConfig, GripperTracker, gripper_command, pinch_aperture_m


def _hand(aperture_m: float, rng: np.random.Generator) -> np.ndarray:
    """(21, 3) joints somewhere in front of the camera, thumb tip (16) and index tip (17) ``aperture_m``
    apart along a random direction."""
    j = rng.normal(size=(21, 3)) * 0.03 + [0.1, 0.0, 0.5]
    d = rng.normal(size=3)
    j[17] = j[16] + aperture_m * d / np.linalg.norm(d)
    return j


def test_aperture_and_command_match_the_synthetic_truth():
    rng = np.random.default_rng(0)
    cfg = GripperConfig(closed_aperture_m=0.02, open_aperture_m=0.10)
    truth = 0.005 + 0.06 * (1 + np.sin(np.linspace(0, 4 * np.pi, 50)))  # 5 mm .. 125 mm
    joints = np.stack([_hand(a, rng) for a in truth])
    ap = pinch_aperture_m(joints)
    assert np.max(np.abs(ap - truth)) < 2e-3
    # command: 0 at <= 2 cm, 1 at >= 10 cm, linear between (checked at points by hand)
    cmd = gripper_command(ap, cfg)
    expected = np.clip((truth - 0.02) / 0.08, 0, 1)
    assert np.max(np.abs(cmd - expected)) < 0.02
    assert gripper_command(0.06, cfg) == pytest.approx(0.5)
    assert gripper_command(0.0, cfg) == 0.0 and gripper_command(0.2, cfg) == 1.0


def test_hysteresis_closes_below_and_opens_above_the_thresholds_only():
    rng = np.random.default_rng(1)
    cfg = GripperConfig(close_below_m=0.03, open_above_m=0.05)
    seq = [0.08, 0.04, 0.029, 0.04, 0.049, 0.051, 0.04, 0.02]
    closed = [False, False, True, True, True, False, False, True]
    tr = GripperTracker(cfg)
    got = [tr.update(1, _hand(a, rng), k * 33_000_000) for k, a in enumerate(seq)]
    assert [g.closed for g in got] == closed
    assert [g.aperture_m for g in got] == pytest.approx(seq, abs=1e-9)
    # the other hand has its own state; a hand unseen for longer than reset_after_s starts over (open)
    assert tr.update(0, _hand(0.04, rng), 8 * 33_000_000).closed is False
    assert tr.update(1, _hand(0.04, rng), 9 * 33_000_000).closed is True
    assert tr.update(1, _hand(0.04, rng), 9 * 33_000_000 + int(0.6e9)).closed is False


def test_bad_parameters_and_joint_shapes_are_refused():
    with pytest.raises(ValueError, match="closed_aperture_m"):
        GripperConfig(closed_aperture_m=0.1, open_aperture_m=0.05)
    with pytest.raises(ValueError, match="close_below_m"):
        GripperConfig(close_below_m=0.06, open_above_m=0.05)
    with pytest.raises(ValueError, match="21, 3"):
        pinch_aperture_m(np.zeros((16, 3)))
