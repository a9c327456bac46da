"""Tests of wildhands_synth.poses and hands: anatomical articulations, their axes and MANO conversion."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_core.constants import NUM_GRASP_CLASSES
from wildhands_synth.hands import HandModel, load_hand_models
from wildhands_synth.poses import (
    ANATOMICAL_RANGES,
    FAMILIES,
    FINGER_CHAINS,
    NUM_ARTICULATION,
    sample_articulation,
    to_pose_aa,
)


@pytest.fixture(scope="module")
def models() -> dict[bool, HandModel]:
    return load_hand_models()


def test_every_family_is_within_the_anatomical_ranges_and_has_a_grasp_class() -> None:
    assert ANATOMICAL_RANGES.shape == (NUM_ARTICULATION, 2)
    for fam in FAMILIES:
        assert fam.articulation.shape == (NUM_ARTICULATION,)
        assert np.all(fam.articulation >= ANATOMICAL_RANGES[:, 0]), fam.name
        assert np.all(fam.articulation <= ANATOMICAL_RANGES[:, 1]), fam.name
        assert 0 <= fam.grasp_label < NUM_GRASP_CLASSES
    # open hands have no grasp, a cylinder wrap is a power circular grasp (GRASP_CLASS_NAMES order)
    by_name = {f.name: f.grasp_label for f in FAMILIES}
    assert by_name["open"] == 8 and by_name["power"] == 4 and by_name["pinch"] == 3


def test_sampled_articulations_are_deterministic_and_clipped_to_the_ranges() -> None:
    a = [sample_articulation(np.random.default_rng([7, i])) for i in range(200)]
    b = [sample_articulation(np.random.default_rng([7, i])) for i in range(200)]
    for (x, fx), (y, fy) in zip(a, b, strict=True):
        assert fx == fy and np.array_equal(x, y)
    arts = np.stack([x for x, _ in a])
    assert np.all(arts >= ANATOMICAL_RANGES[:, 0]) and np.all(arts <= ANATOMICAL_RANGES[:, 1])
    assert len({f for _, f in a}) == len(FAMILIES)  # every family drawn in 200 samples


def test_zero_articulation_gives_the_flat_template(models: dict[bool, HandModel]) -> None:
    m = models[True]
    pose = to_pose_aa(np.zeros((1, NUM_ARTICULATION)), np.zeros((1, 3)), m.axes, m.hands_mean)
    assert np.allclose(pose[0, 3:], -m.hands_mean)  # smplx adds hands_mean back: full pose = 0


@pytest.mark.parametrize("is_right", [True, False])
def test_flexion_moves_fingertips_towards_the_palm(models: dict[bool, HandModel], is_right: bool) -> None:
    m = models[is_right]
    rot, betas, centre = np.eye(3)[None], np.zeros((1, 10)), np.zeros((1, 3))
    flat = m.pose(np.zeros((1, NUM_ARTICULATION)), rot, betas, centre).joints_cam_m[0]
    art = np.zeros((1, NUM_ARTICULATION))
    art[0, [0, 4, 8, 12]] = 1.5  # MCP flexion of the four fingers only, ~86 degrees
    bent = m.pose(art, rot, betas, centre).joints_cam_m[0]
    for finger in ("index", "middle", "ring", "pinky"):
        mcp, _, _, tip = FINGER_CHAINS[finger]
        assert np.allclose(bent[mcp], flat[mcp])
        move = bent[tip] - flat[tip]
        length = np.linalg.norm(flat[tip] - flat[mcp])  # a straight finger rotated ~90 deg about its MCP
        assert move @ m.axes.palm_normal > 0.8 * length, finger  # the tip goes to the palm side
        assert move @ m.axes.finger_dir < -0.8 * length, finger  # and back towards the wrist

def test_right_and_left_axes_are_mirror_images_for_the_mirrored_model(models: dict[bool, HandModel]) -> None:
    if "procedural" not in models[True].layer.source:
        pytest.skip("the licensed left MANO model is not an exact mirror of the right one")
    mirror = np.array([-1.0, 1.0, 1.0])
    art = next(f.articulation for f in FAMILIES if f.name == "pinch")[None]
    right = models[True].pose(art, np.eye(3)[None], np.zeros((1, 10)), np.zeros((1, 3))).joints_cam_m[0]
    left = models[False].pose(art, np.eye(3)[None], np.zeros((1, 10)), np.zeros((1, 3))).joints_cam_m[0]
    assert np.allclose(left, right * mirror, atol=1e-6)


def test_posed_hand_satisfies_the_translation_convention(models: dict[bool, HandModel]) -> None:
    import torch

    m = models[False]
    rng = np.random.default_rng(3)
    art, _ = sample_articulation(rng)
    centre = np.array([[0.05, 0.1, 0.4]])
    posed = m.pose(art[None], np.eye(3)[None], rng.normal(size=(1, 10)), centre)
    out = m.layer.forward_aa(torch.tensor(posed.pose_aa, dtype=torch.float32),
                             torch.tensor(posed.betas, dtype=torch.float32))
    joints = out["joints"].double().numpy()[0] + posed.transl_m[0]
    assert np.allclose(joints, posed.joints_cam_m[0], atol=1e-6)
    assert np.allclose(posed.joints_cam_m[0][[0, 1, 4, 7, 10, 13]].mean(axis=0), centre[0], atol=1e-9)
