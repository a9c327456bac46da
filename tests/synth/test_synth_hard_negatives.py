"""Hard negatives for detector training: hand-free frames, touching hands, hand-sized distractors."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_synth.background import make_background
from wildhands_synth.distractors import paint_distractors
from wildhands_synth.generate import generate_frame, touching_palm_centre
from wildhands_synth.hands import HandModel, load_hand_models
from wildhands_synth.scene import SceneConfig

SIZE = (160, 120)


@pytest.fixture(scope="module")
def models() -> dict[bool, HandModel]:
    return load_hand_models()


def test_hand_free_frames_have_no_hand_label_and_no_hand_pixel(models):
    cfg = SceneConfig(p_no_hands=1.0)
    for i in range(3):
        f = generate_frame(5, i, *SIZE, models, cfg)
        assert not f.labels["present"].any() and not f.labels["in_scene"].any()
        assert np.all(f.mask == 0)
        assert f.image.std() > 0  # the background is there


def test_hard_negative_options_leave_the_hands_camera_and_background_of_a_frame_unchanged(models):
    plain = generate_frame(5, 7, *SIZE, models)
    hard = generate_frame(5, 7, *SIZE, models, SceneConfig(max_distractors=4))
    for key in ("K_px", "pose_aa", "betas", "transl_m", "joints_cam_m", "in_scene"):
        np.testing.assert_array_equal(plain.labels[key], hard.labels[key])


def test_touching_left_palm_is_within_the_stated_offsets_of_the_right_one():
    rng = np.random.default_rng(0)
    right = np.array([0.05, 0.1, 0.4])
    d = np.stack([touching_palm_centre(rng, right) - right for _ in range(2000)])
    assert d[:, 0].min() >= -0.09 and d[:, 0].max() <= 0.02  # 9 cm to the left .. 2 cm to the right
    assert np.abs(d[:, 1:]).max() <= 0.04


def test_distractors_are_hand_sized_paint_with_no_label(models):
    w, h = 320, 240
    bg = make_background("gradient", 3, w, h)
    K = np.array([[100.0, 0, 159.5], [0, 100.0, 119.5], [0, 0, 1]])
    extents = []
    for seed in range(12):  # one shape each: its longest side is fx x (0.10..0.20 m) / (0.25..0.6 m),
        # 17-80 px; a hand-like one's fingers reach 1.1x that; + 2 px of blur each side
        painted = paint_distractors(bg, np.random.default_rng(seed), K, 1)
        ys, xs = np.nonzero(np.any(np.abs(painted - bg) > 0.02, axis=-1))
        if len(xs):
            extents.append(max(xs.max() - xs.min(), ys.max() - ys.min()) + 1)
    assert len(extents) >= 8 and max(extents) <= 1.1 * 80 + 4 and min(extents) >= 5
    assert np.array_equal(paint_distractors(bg, np.random.default_rng(1), K, 0), bg)
    # in a generated frame they stay background (mask 0)
    f = generate_frame(5, 2, *SIZE, models, SceneConfig(p_no_hands=1.0, max_distractors=4))
    assert np.all(f.mask == 0)
