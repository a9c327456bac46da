"""Training crops and K-consistent augmentation: geometry stays consistent, crops equal the inference ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from training.config import AugmentConfig
from training.crops import colour_jitter, hand_box_px, prepare_frame, random_image_affine, warp_sample
from training.sample import HandSample
from wildhands_core.camera import Letterbox, project
from wildhands_core.preprocess import cut_crops, letterbox_image, square_crop_boxes

W, H = 200, 150
K = np.array([[180.0, 0.0, 97.0], [0.0, 170.0, 76.0], [0.0, 0.0, 1.0]])


def _sample(seed: int = 0) -> HandSample:
    rng = np.random.default_rng(seed)
    joints = np.array([0.0, 0.0, 0.5]) + rng.uniform(-0.05, 0.05, size=(21, 3))
    kp = project(torch.from_numpy(joints)[None], torch.from_numpy(K)[None])[0].numpy()
    image = rng.integers(0, 255, size=(H, W, 3), dtype=np.uint8)
    mask = np.zeros((H, W), np.uint8)
    x0, y0 = np.floor(kp.min(axis=0)).astype(int)
    x1, y1 = np.ceil(kp.max(axis=0)).astype(int)
    mask[y0 : y1 + 1, x0 : x1 + 1] = 1
    return HandSample(
        image=image, K_px=K.copy(), box_xyxy_px=np.array([x0, y0, x1, y1], float), is_right=True,
        dataset="synthetic", joints_cam_m=joints, keypoints_px=kp, keypoints_valid=np.ones(21, bool),
        mask=mask,
    )


def test_image_scale_and_shift_keep_3d_projecting_onto_the_warped_keypoints():
    s = _sample()
    A = random_image_affine(np.random.default_rng(3), W, H, (0.7, 1.4), 0.2)
    assert not np.allclose(A, np.eye(3))
    w = warp_sample(s, A)
    proj = project(torch.from_numpy(w.joints_cam_m)[None], torch.from_numpy(w.K_px)[None])[0].numpy()
    np.testing.assert_allclose(proj, w.keypoints_px, atol=1e-9)
    np.testing.assert_array_equal(w.joints_cam_m, s.joints_cam_m)  # 3D labels untouched
    assert w.image.shape == s.image.shape


def test_warped_image_moves_a_pixel_where_the_affine_sends_it():
    s = _sample()
    image = np.zeros((H, W, 3), np.uint8)
    image[40, 60] = 255  # pixel (u=60, v=40)
    s = dataclasses.replace(s, image=image)
    A = np.array([[2.0, 0.0, 5.0], [0.0, 2.0, -10.0], [0.0, 0.0, 1.0]])  # u' = 2u + 5, v' = 2v - 10
    w = warp_sample(s, A)
    v, u = np.unravel_index(np.argmax(w.image[..., 0]), (H, W))
    assert (u, v) == (125, 70)


def test_colour_jitter_changes_colours_only_and_zero_strength_is_identity():
    img = np.random.default_rng(0).integers(0, 255, size=(8, 8, 3), dtype=np.uint8)
    assert np.array_equal(colour_jitter(img, np.random.default_rng(0), 0.0), img)
    out = colour_jitter(img, np.random.default_rng(0), 0.5)
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)


def test_box_from_keypoints_is_their_tight_box():
    s = _sample()
    box = hand_box_px(s, "keypoints")
    np.testing.assert_allclose(box, [*s.keypoints_px.min(axis=0), *s.keypoints_px.max(axis=0)])
    s.keypoints_valid[:] = False
    s.keypoints_valid[:2] = True  # fewer than 3 valid -> the sample's box
    np.testing.assert_allclose(hand_box_px(s, "keypoints"), s.box_xyxy_px)


def test_unperturbed_training_crop_equals_the_inference_crop():
    s = _sample()
    cfg = AugmentConfig(crop_scale=1.5)
    frame = prepare_frame([s], cfg, rng=None, mask_size=28)
    lb = Letterbox(W, H)
    box224 = lb.boxes_to_224(torch.from_numpy(hand_box_px(s))).numpy()
    cb = square_crop_boxes(box224[None], 1.5, clip=True)
    np.testing.assert_allclose(frame.hands[0].crop_box_224, cb[0], atol=1e-9)
    whole = letterbox_image(s.image, lb)
    assert np.array_equal(frame.whole_224, whole)
    assert np.array_equal(frame.crops, cut_crops(s.image, whole, lb, cb))
    # crop side = 1.5 x the longest keypoint-box side (224 frame)
    side = max(box224[2] - box224[0], box224[3] - box224[1]) * 1.5
    assert frame.hands[0].crop_box_224[2] - frame.hands[0].crop_box_224[0] == pytest.approx(side)


def test_augmented_frame_labels_stay_consistent_in_the_224_frame_and_the_mask_crop():
    s = _sample(1)
    cfg = AugmentConfig(image_scale_range=(0.8, 1.25), image_shift=0.1, colour_jitter=0.3)
    frame = prepare_frame([s, dataclasses.replace(s, is_right=False)], cfg, np.random.default_rng(7), 28)
    assert frame.crops.shape == (2, 224, 224, 3)
    hand = frame.hands[0]
    K224 = torch.from_numpy(frame.K_224)[None]
    proj = project(torch.from_numpy(s.joints_cam_m)[None], K224)[0].numpy()
    np.testing.assert_allclose(proj, hand.keypoints_224, atol=1e-6)
    # both hands of the frame saw the same augmentation (one whole image, one K)
    np.testing.assert_allclose(frame.hands[1].keypoints_224, hand.keypoints_224)
    # the keypoints project into the mask crop where the (rectangular) GT mask is
    kp_mask = project(torch.from_numpy(s.joints_cam_m)[None], torch.from_numpy(hand.K_mask)[None])[0].numpy()
    ij = np.round(kp_mask).astype(int)
    inside = (ij >= 0).all(axis=1) & (ij < 28).all(axis=1)
    assert inside.sum() >= 15
    assert hand.mask_crop[ij[inside, 1], ij[inside, 0]].mean() > 0.9
