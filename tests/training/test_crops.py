"""Training crops and K-consistent augmentation: geometry stays consistent, crops equal the inference ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from training.config import AugmentConfig
from training.crops import colour_jitter, hand_box_px, prepare_frame, random_image_affine, warp_sample
from training.sample import HandSample
from wildhands_core.camera import Letterbox, project
from wildhands_core.preprocess import crop_and_kpe_boxes, cut_crops, whole_image_224

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
    lb = Letterbox(W, H)  # the release convention, the default of prepare_frame and ModelConfig
    box224 = lb.boxes_to_224(torch.from_numpy(hand_box_px(s))).numpy()
    cb, kpe = crop_and_kpe_boxes(box224[None], 1.5, "release")
    np.testing.assert_allclose(frame.hands[0].crop_box_224, cb[0], atol=1e-9)
    np.testing.assert_allclose(frame.hands[0].kpe_box_224, kpe[0], atol=1e-9)
    whole = whole_image_224(s.image, lb)
    assert np.array_equal(frame.whole_224, whole)
    assert np.array_equal(frame.crops, cut_crops(s.image, whole, lb, cb))
    # crop side = 1.5 x the longest keypoint-box side (224 frame) in whole pixels, as the release rounds it
    side = max(box224[2] - box224[0], box224[3] - box224[1])
    whole_px = (frame.hands[0].crop_box_224[2] - frame.hands[0].crop_box_224[0]) / 1.5
    assert whole_px == round(whole_px) and abs(whole_px - side) <= 1.0


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


def _crop_source_points(hand, mask_size: int, width: int, height: int) -> np.ndarray:
    """(S, S, 2) original-image point (x, y) each crop-pixel centre samples (inverse of the crop warp)."""
    lb = Letterbox(width, height)
    from wildhands_core.preprocess import crop_affine_224

    M = crop_affine_224(hand.crop_box_224, mask_size) @ np.vstack([lb.affine_2x3(), [0.0, 0.0, 1.0]])
    jj, ii = np.meshgrid(np.arange(mask_size), np.arange(mask_size))
    pts = np.stack([jj, ii, np.ones_like(jj)], axis=-1).reshape(-1, 3) @ np.linalg.inv(M).T
    return pts[:, :2].reshape(mask_size, mask_size, 2)


def test_mask_valid_is_zero_exactly_where_the_crop_pixel_samples_an_ignored_image_pixel():
    s = _sample()
    cut = round((s.box_xyxy_px[0] + s.box_xyxy_px[2]) / 2)  # ignore the columns left of the hand's middle
    ignore = np.zeros((H, W), np.uint8)
    ignore[:, :cut] = 1
    s = dataclasses.replace(s, mask=s.mask * (1 - ignore), mask_ignore=ignore)
    hand = prepare_frame([s], AugmentConfig(enabled=False), rng=None, mask_size=40).hands[0]
    src = _crop_source_points(hand, 40, W, H)
    inside = (src[..., 0] >= 0) & (src[..., 0] <= W - 1) & (src[..., 1] >= 0) & (src[..., 1] <= H - 1)
    x = src[..., 0]
    assert hand.mask_valid_crop.dtype == np.float32 and set(np.unique(hand.mask_valid_crop)) == {0.0, 1.0}
    assert np.all(hand.mask_valid_crop[x <= cut - 0.01] == 0)  # bilinear sample touches column cut - 1
    assert np.all(hand.mask_valid_crop[(x >= cut + 0.01) & inside] == 1)
    assert (x <= cut - 0.01).sum() > 100 and ((x >= cut + 0.01) & inside).sum() > 100


def test_mask_valid_is_one_inside_the_image_and_zero_beyond_its_border_without_an_ignore_map():
    s = _sample()
    s = dataclasses.replace(s, box_xyxy_px=np.array([150.0, 120.0, 199.0, 149.0]), keypoints_px=None)
    hand = prepare_frame([s], AugmentConfig(enabled=False), rng=None, mask_size=32).hands[0]
    src = _crop_source_points(hand, 32, W, H)
    x, y = src[..., 0], src[..., 1]
    inside = (x >= 0.01) & (x <= W - 1.01) & (y >= 0.01) & (y <= H - 1.01)
    outside = (x > W - 0.99) | (y > H - 0.99)  # the crop runs into the letterbox bar
    assert np.all(hand.mask_valid_crop[inside] == 1) and np.all(hand.mask_valid_crop[outside] == 0)
    assert inside.sum() > 50 and outside.sum() > 50


def test_augmentation_carries_the_ignore_map_and_ignores_what_comes_from_outside_the_image():
    s = _sample()
    ignore = np.zeros((H, W), np.uint8)
    ignore[10:20, 30:40] = 1
    s = dataclasses.replace(s, mask_ignore=ignore)
    A = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, -3.0], [0.0, 0.0, 1.0]])  # shift 5 px right, 3 px up
    w = warp_sample(s, A)
    assert w.mask_ignore[7:17, 35:45].all() and w.mask_ignore[7:17, 45:].sum() == 0
    assert w.mask_ignore[:, :5].all() and w.mask_ignore[H - 3:, :].all()  # revealed strips: no label
    assert int(w.mask_ignore.sum()) == 10 * 10 + 5 * H + 3 * W - 5 * 3
    plain = warp_sample(dataclasses.replace(s, mask_ignore=None), A)  # no ignore map: only the strips
    assert int(plain.mask_ignore.sum()) == 5 * H + 3 * W - 5 * 3


def test_collated_mask_valid_is_the_crops_valid_map_and_ones_inside_the_image_without_ignore():
    from training.batch import collate_frames
    from training.config import LossWeights

    s = _sample()
    ignore = np.zeros((H, W), np.uint8)
    ignore[:, :100] = 1
    frames = [prepare_frame([x], AugmentConfig(enabled=False), rng=None, mask_size=24)
              for x in (s, dataclasses.replace(s, mask_ignore=ignore), dataclasses.replace(s, mask=None))]
    b = collate_frames(frames, {"synthetic": LossWeights(mask=1.0)}, mask_size=24)
    assert b.labels["mask_valid"].shape == (3, 24, 24)
    assert torch.all(b.labels["mask_valid"][0] == 1)  # this crop lies inside the image
    np.testing.assert_array_equal(b.labels["mask_valid"][1].numpy(), frames[1].hands[0].mask_valid_crop)
    assert 0 < b.labels["mask_valid"][1].sum() < 24 * 24
    assert b.has["mask"].tolist() == [True, True, False]


def test_rotation_turns_image_2d_and_3d_labels_together_and_keeps_a_square_pixel_K():
    from scipy.spatial.transform import Rotation

    from training.crops import rotate_samples

    Ksq = np.array([[170.0, 0.0, 97.0], [0.0, 170.0, 76.0], [0.0, 0.0, 1.0]])
    s = _sample()
    kp = project(torch.from_numpy(s.joints_cam_m)[None], torch.from_numpy(Ksq)[None])[0].numpy()
    go = np.array([0.3, -0.2, 0.1])
    s = dataclasses.replace(s, K_px=Ksq, keypoints_px=kp, mano_pose_aa=np.concatenate([go, np.zeros(45)]),
                            mano_transl_m=np.array([0.01, 0.02, 0.45]))
    r = rotate_samples([s], 90.0)[0]
    np.testing.assert_allclose(r.K_px, Ksq, atol=1e-9)  # fx = fy: the camera rolls, K stays
    proj = project(torch.from_numpy(r.joints_cam_m)[None], torch.from_numpy(r.K_px)[None])[0].numpy()
    np.testing.assert_allclose(proj, r.keypoints_px, atol=1e-6)
    # 90 deg counter-clockwise on screen about the principal point: (u - cx, v - cy) -> (v - cy, -(u - cx))
    d = kp - [97.0, 76.0]
    np.testing.assert_allclose(r.keypoints_px - [97.0, 76.0], np.stack([d[:, 1], -d[:, 0]], 1), atol=1e-9)
    Rz = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(r.joints_cam_m, s.joints_cam_m @ Rz.T, atol=1e-12)
    want = Rotation.from_matrix(Rz) * Rotation.from_rotvec(go)
    assert (Rotation.from_rotvec(r.mano_pose_aa[:3]).inv() * want).magnitude() < 1e-9
    # smplx turns about the rest wrist J0 = wrist - t: the new t keeps R_z (J0 + t) = J0 + t'
    j0 = s.joints_cam_m[0] - s.mano_transl_m
    np.testing.assert_allclose(j0 + r.mano_transl_m, Rz @ s.joints_cam_m[0], atol=1e-12)


def test_rotation_is_drawn_on_40_percent_of_frames_within_60_degrees():
    from training.crops import random_rotation_deg

    cfg = AugmentConfig(rotation_prob=0.4, rotation_std_deg=30.0, rotation_max_deg=60.0)
    rng = np.random.default_rng(0)
    a = np.array([random_rotation_deg(rng, cfg) for _ in range(4000)])
    assert abs((a != 0).mean() - 0.4) < 0.03 and np.abs(a).max() <= 60.0
    assert np.abs(a[a != 0]).max() == 60.0  # clipped, N(0, 30) exceeds 60 about 5 % of the time


def test_pixel_noise_scales_each_channel_by_its_own_factor():
    from training.crops import pixel_noise

    img = np.full((4, 4, 3), 100, np.uint8)
    out = pixel_noise(img, np.random.default_rng(1), 0.4).astype(float)
    f = np.random.default_rng(1).uniform(0.6, 1.4, size=3)
    np.testing.assert_allclose(out[0, 0], np.round(100 * f), atol=1)
    assert len(set(out[0, 0])) == 3 and np.all(out == out[0, 0])


def test_box_shift_moves_the_crop_by_the_box_size_without_changing_its_size():
    from training.crops import crop_box_224

    box = np.array([100.0, 100.0, 140.0, 120.0])  # 40 x 20
    base = crop_box_224(box, 1.5, None, 0.0, 0.0)[0]
    for seed in range(20):
        cb = crop_box_224(box, 1.5, np.random.default_rng(seed), 0.0, 0.0, box_shift=0.2)[0]
        np.testing.assert_allclose(cb[2:] - cb[:2], base[2:] - base[:2])  # no size jitter
        shift = (cb[:2] + cb[2:]) / 2 - (base[:2] + base[2:]) / 2
        assert abs(shift[0]) <= 0.2 * 40 + 1e-9 and abs(shift[1]) <= 0.2 * 20 + 1e-9
