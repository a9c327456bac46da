"""Letterbox geometry, intrinsics mapping, weak perspective and projection."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from wildhands_core.camera import (
    Letterbox,
    default_K_224,
    demo_K,
    focal_mean,
    project,
    project_points,
    weak_perspective_to_translation,
)


def test_landscape_image_is_centred_vertically_in_the_letterbox() -> None:
    lb = Letterbox(640, 480, convention="wildhands_v1")
    assert lb.scale == pytest.approx(0.35)
    assert (lb.pad_x, lb.pad_y) == (0, 80)
    assert lb.offset_x == pytest.approx(-0.325)
    assert lb.offset_y == pytest.approx(27.675)
    # The centre of the original image lands on the centre of the 224 frame (pixel-centre convention).
    centre = lb.points_to_224(torch.tensor([319.5, 239.5], dtype=torch.float64))
    torch.testing.assert_close(centre, torch.tensor([111.5, 111.5], dtype=torch.float64))


def test_portrait_image_is_centred_horizontally_in_the_letterbox() -> None:
    lb = Letterbox(480, 640, convention="wildhands_v1")
    assert (lb.pad_x, lb.pad_y) == (80, 0)
    top_left = lb.points_to_224(torch.tensor([-0.5, -0.5], dtype=torch.float64))  # pixel (0, 0) outer corner
    torch.testing.assert_close(top_left, torch.tensor([80 * 0.35 - 0.5, -0.5], dtype=torch.float64))


@pytest.mark.parametrize("convention", ["release", "wildhands_v1"])
def test_affine_matrix_matches_where_cv2_puts_the_image_content(convention: str) -> None:
    lb = Letterbox(640, 480, convention=convention)
    img = np.zeros((480, 640), np.float32)
    img[200:240, 300:340] = 1.0  # centroid (319.5, 219.5)
    # a symmetric blur keeps the centroid and band-limits the box, so the warp's sampling phase cannot bias it
    img = cv2.GaussianBlur(img, (0, 0), 3.0)
    warped = cv2.warpAffine(img, lb.affine_2x3(), (224, 224), flags=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:224, 0:224]
    centroid = np.array([(warped * xs).sum(), (warped * ys).sum()]) / warped.sum()
    expected = lb.points_to_224(torch.tensor([319.5, 219.5], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(centroid, expected, atol=0.05)
    if convention == "release":  # u' = (u - W/2) 224/L + 112 (shared/reference/README.md)
        np.testing.assert_allclose(expected, [(319.5 - 320) * 0.35 + 112, (219.5 - 240) * 0.35 + 112])


def test_points_boxes_and_K_round_trip_through_the_224_frame() -> None:
    lb = Letterbox(1280, 720)
    pts = torch.tensor([[0.0, 0.0], [1279.0, 719.0], [640.5, 33.25]], dtype=torch.float64)
    torch.testing.assert_close(lb.points_to_original(lb.points_to_224(pts)), pts)
    boxes = torch.tensor([[10.0, 20.0, 300.0, 400.0]], dtype=torch.float64)
    torch.testing.assert_close(lb.boxes_to_original(lb.boxes_to_224(boxes)), boxes)
    K = torch.tensor([[900.0, 0.0, 640.0], [0.0, 910.0, 360.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    K224 = lb.K_to_224(K)
    assert K224[0, 0].item() == pytest.approx(900.0 * 224 / 1280)
    assert K224[0, 2].item() == pytest.approx(640.0 * lb.scale + lb.offset_x)
    torch.testing.assert_close(lb.K_to_original(K224), K)


def test_letterbox_maps_numpy_arrays_as_it_maps_tensors() -> None:
    # release: scale 0.35, offsets (0, 28) by hand: 112 - 0.35 * 320, 112 - 0.35 * 240
    lb = Letterbox(640, 480)
    boxes = np.array([[100.0, 50.0, 200.0, 150.0]])
    b224 = lb.boxes_to_224(boxes)
    assert isinstance(b224, np.ndarray)
    np.testing.assert_allclose(b224, [[35.0, 45.5, 70.0, 80.5]])
    np.testing.assert_allclose(lb.boxes_to_original(b224), boxes)
    K = np.array([[500.0, 0.0, 319.5], [0.0, 500.0, 239.5], [0.0, 0.0, 1.0]])
    K224 = [[175.0, 0.0, 111.825], [0.0, 175.0, 111.825], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(lb.K_to_224(K), K224)
    np.testing.assert_array_equal(lb.K_to_224(K), lb.K_to_224(torch.from_numpy(K)).numpy())


def test_the_224_frame_sees_the_same_3d_camera_frame() -> None:
    lb = Letterbox(1920, 1080)
    K = torch.tensor([[[1400.0, 0.0, 955.0], [0.0, 1395.0, 545.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    pts = torch.tensor([[[0.1, -0.05, 0.6], [-0.2, 0.1, 1.5], [0.0, 0.0, 0.3]]], dtype=torch.float64)
    uv_orig = project(pts, K)
    uv_224 = project(pts, lb.K_to_224(K))
    torch.testing.assert_close(lb.points_to_original(uv_224), uv_orig, atol=1e-9, rtol=0)


def test_project_divides_by_depth_and_applies_K() -> None:
    K = torch.tensor([[[100.0, 0.0, 50.0], [0.0, 200.0, 60.0], [0.0, 0.0, 1.0]]])
    uv = project(torch.tensor([[[0.5, -0.25, 2.0]]]), K)
    torch.testing.assert_close(uv, torch.tensor([[[75.0, 35.0]]]))


def test_project_points_numpy_and_nan_behind_the_camera() -> None:
    K = np.array([[640.0, 0.0, 319.5], [0.0, 640.0, 239.5], [0.0, 0.0, 1.0]])
    uv = project_points(np.array([[0.1, -0.05, 1.0], [0.0, 0.0, -1.0]]), K)
    # u = 640 * 0.1 + 319.5 = 383.5, v = 640 * (-0.05) + 239.5 = 207.5
    np.testing.assert_allclose(uv[0], [383.5, 207.5])
    assert np.isnan(uv[1]).all()


def test_project_points_matches_the_torch_twin_in_front_of_the_camera() -> None:
    K = np.array([[100.0, 0.0, 50.0], [0.0, 200.0, 60.0], [0.0, 0.0, 1.0]])
    uv = project_points(np.array([[0.5, -0.25, 2.0]]), K)
    np.testing.assert_allclose(uv, [[75.0, 35.0]])


def test_demo_K_is_focal_1000_at_the_pixel_centre_centre() -> None:
    np.testing.assert_array_equal(demo_K(640, 480), [[1000.0, 0, 319.5], [0, 1000.0, 239.5], [0, 0, 1]])


def test_weak_perspective_depth_is_two_f_over_224_s_with_s_clamped() -> None:
    K = torch.tensor([[224.0, 0.0, 112.0], [0.0, 224.0, 112.0], [0.0, 0.0, 1.0]]).expand(3, 3, 3)
    cam = torch.tensor([[0.5, 0.1, -0.2], [0.01, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    t = weak_perspective_to_translation(cam, K)
    torch.testing.assert_close(t[0], torch.tensor([0.1, -0.2, 4.0]))  # 2 * 224 / (224 * 0.5)
    assert t[1, 2].item() == pytest.approx(20.0)  # s clamped to 0.1
    assert t[2, 2].item() == pytest.approx(20.0)


def test_focal_mean_averages_fx_and_fy() -> None:
    K = torch.tensor([[100.0, 0.0, 1.0], [0.0, 300.0, 2.0], [0.0, 0.0, 1.0]])
    assert focal_mean(K).item() == pytest.approx(200.0)


def test_default_K_224_scales_the_demo_focal_and_centres_at_112() -> None:
    K = default_K_224(1920, 1080)
    assert K[0, 0].item() == pytest.approx(1000.0 * 224 / 1920)
    assert K[1, 1].item() == pytest.approx(1000.0 * 224 / 1920)
    assert (K[0, 2].item(), K[1, 2].item()) == (112.0, 112.0)
