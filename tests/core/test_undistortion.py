"""Lens undistortion (wildhands_core.undistortion) against the distortion models' own formulas."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from wildhands_core.undistortion import (
    DistortionError,
    Undistorter,
    check_distortion,
    undistort_box_xyxy,
    undistort_points,
)

K = np.array([[300.0, 0.0, 319.5], [0.0, 300.0, 239.5], [0.0, 0.0, 1.0]])
W, H = 640, 480


def _plumb_bob_k1(xy_norm: np.ndarray, k1: float) -> np.ndarray:
    """Brown-Conrady with only k1 (ROS plumb_bob, D = [k1, 0, 0, 0, 0]): x_d = x (1 + k1 r^2)."""
    r2 = (xy_norm**2).sum(-1, keepdims=True)
    return xy_norm * (1 + k1 * r2)


def _equidistant(xy_norm: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Kannala-Brandt (ROS equidistant): theta_d = theta (1 + k1 t^2 + k2 t^4 + k3 t^6 + k4 t^8)."""
    r = np.linalg.norm(xy_norm, axis=-1, keepdims=True)
    t = np.arctan(r)
    td = t * (1 + k[0] * t**2 + k[1] * t**4 + k[2] * t**6 + k[3] * t**8)
    return xy_norm * td / r


def _to_px(xy_norm: np.ndarray) -> np.ndarray:
    return xy_norm * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]


def _dot_image(center_px: np.ndarray) -> np.ndarray:
    img = np.zeros((H, W, 3), np.uint8)
    cv2.circle(
        img, (round(center_px[0] * 16), round(center_px[1] * 16)), 4 * 16, (255, 255, 255), -1, cv2.LINE_AA, 4
    )
    return img


def _centroid(img: np.ndarray) -> np.ndarray:
    g = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:H, :W]
    return np.array([(g * xs).sum() / g.sum(), (g * ys).sum() / g.sum()])


@pytest.mark.parametrize(
    "model,D,distort",
    [
        ("plumb_bob", np.array([-0.25, 0, 0, 0, 0]), lambda p: _plumb_bob_k1(p, -0.25)),
        ("rational_polynomial", np.array([-0.25, 0, 0, 0, 0, 0, 0, 0]), lambda p: _plumb_bob_k1(p, -0.25)),
        (
            "equidistant",
            np.array([0.05, -0.01, 0, 0]),
            lambda p: _equidistant(p, np.array([0.05, -0.01, 0, 0])),
        ),
    ],
)
def test_a_point_seen_through_the_lens_lands_at_its_pinhole_projection(model, D, distort):
    xy = np.array([[0.7, 0.5]])  # a point far from the centre: X/Z, Y/Z
    seen = _to_px(distort(xy))[0]
    pinhole = _to_px(xy)[0]
    assert np.linalg.norm(seen - pinhole) > 10  # the lens moves it visibly
    out = Undistorter().undistort("cam", _dot_image(seen), K, model, D)
    assert np.linalg.norm(_centroid(out) - pinhole) < 0.5
    np.testing.assert_allclose(undistort_points(seen, K, model, D)[0], pinhole, atol=1e-3)


def test_maps_are_built_once_per_camera_and_rebuilt_only_when_the_calibration_changes():
    u = Undistorter()
    img = np.zeros((H, W, 3), np.uint8)
    D = np.array([-0.2, 0.05, 0, 0, 0])
    for _ in range(3):
        u.undistort("cam", img, K, "plumb_bob", D)
    assert u.builds == 1
    u.undistort("cam", img, K, "plumb_bob", D * 1.01)
    assert u.builds == 2
    u.undistort("cam", np.zeros((240, 320, 3), np.uint8), K / [2, 2, 1], "plumb_bob", D * 1.01)
    assert u.builds == 3  # new size
    assert u.undistort("cam", img, K, "plumb_bob", np.zeros(5)) is img  # no distortion: untouched


def test_a_box_on_the_distorted_image_encloses_its_undistorted_outline():
    D = np.array([-0.1, 0, 0, 0, 0])
    box = np.array([450.0, 330, 520, 400])
    out = undistort_box_xyxy(box, K, "plumb_bob", D)
    corner = undistort_points(np.array([[520.0, 400]]), K, "plumb_bob", D)[0]
    xy = (corner - K[:2, 2]) / 300.0
    np.testing.assert_allclose(_to_px(_plumb_bob_k1(xy, -0.1)), [520, 400], atol=1e-6)  # the inverse
    assert out[2] == pytest.approx(corner[0]) and out[3] == pytest.approx(corner[1])
    assert out[2] > box[2] and out[3] > box[3]  # barrel distortion pulled it towards the centre


@pytest.mark.parametrize(
    "model,D",
    [("fisheye_custom", [0.1, 0, 0, 0]), ("plumb_bob", [float("nan"), 0, 0, 0, 0]), ("equidistant", [0.1])],
)
def test_unsupported_or_malformed_distortion_is_an_error(model, D):
    with pytest.raises(DistortionError):
        check_distortion(model, np.array(D))
    check_distortion(model, np.zeros(len(D)) if model != "plumb_bob" else np.zeros(5))  # all zero: fine
