"""Tests of wildhands_synth.sequence: smooth, deterministic two-hand sequences."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_synth.hands import HandModel, load_hand_models
from wildhands_synth.sequence import SequenceConfig, SyntheticSequence

SIZE = (128, 96)


@pytest.fixture(scope="module")
def models() -> dict[bool, HandModel]:
    return load_hand_models()


def test_frames_are_deterministic_and_randomly_accessible(models) -> None:
    a = SyntheticSequence(4, SIZE, models=models)
    b = SyntheticSequence(4, SIZE, models=models)
    seq = [a.frame(i) for i in range(3)]
    late = b.frame(2)  # rendered without the frames before it
    assert np.array_equal(seq[2].image, late.image) and np.array_equal(seq[2].mask, late.mask)
    for key, val in seq[2].labels.items():
        assert np.array_equal(val, late.labels[key]), key
    assert not np.array_equal(SyntheticSequence(5, SIZE, models=models).frame(2).image, late.image)


def test_both_hands_move_smoothly_at_30_hz(models) -> None:
    seq = SyntheticSequence(8, SIZE, models=models, config=SequenceConfig(fps=30.0, key_period_s=1.5))
    states = [seq.hand_specs(i) for i in range(91)]  # 3 s, two key intervals
    for side in (0, 1):
        centre = np.stack([s[side].palm_centre_cam_m for s in states])
        rot = np.stack([s[side].global_rotmat for s in states])
        art = np.stack([s[side].articulation for s in states])
        step = np.linalg.norm(np.diff(centre, axis=0), axis=1)
        assert step.max() < 0.02  # < 2 cm per frame (0.6 m/s)
        assert np.linalg.norm(centre[-1] - centre[0]) > 0.01 or np.ptp(centre, axis=0).max() > 0.02
        angle = np.arccos(np.clip((np.einsum("nij,nij->n", rot[1:], rot[:-1]) - 1) / 2, -1, 1))
        assert angle.max() < 0.15  # rad per frame
        assert np.abs(np.diff(art, axis=0)).max() < 0.15
        # velocity is continuous: no frame-to-frame change in step larger than a few mm
        assert np.abs(np.diff(step)).max() < 0.005


def test_rendered_sequence_joints_jump_little_between_frames(models) -> None:
    seq = SyntheticSequence(2, SIZE, models=models, threads=1)
    frames = list(seq.frames(10, start=40))
    joints = np.stack([f.labels["joints_cam_m"] for f in frames])  # (10, 2, 21, 3)
    jump = np.linalg.norm(np.diff(joints, axis=0), axis=-1)
    assert jump.max() < 0.03
    assert all(f.labels["in_scene"].all() for f in frames)
    assert sum(f.labels["present"].all() for f in frames) >= 8
    assert seq.stamp_ns(30) == 1_000_000_000
