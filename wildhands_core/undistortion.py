"""Lens undistortion of whole images with cached ``cv2.remap`` maps (ROS-free).

Models (the names ``sensor_msgs/CameraInfo.distortion_model`` uses): ``plumb_bob`` (D = k1 k2 p1 p2 k3),
``rational_polynomial`` (D = k1 k2 p1 p2 k3 k4 k5 k6), both handled by OpenCV's standard model, and
``equidistant`` (D = k1 k2 k3 k4, OpenCV's fisheye model). The undistorted image is a pinhole image with
the SAME intrinsics ``K_px`` (no new camera matrix: same size, same focal length; pixels outside the lens'
field are black), so everything downstream uses ``K_px`` as is and 2D outputs are in undistorted pixels.

:class:`Undistorter` keeps one pair of maps per camera and rebuilds them only when that camera's model,
coefficients, ``K_px`` or image size change (building costs milliseconds to tens of milliseconds; a remap is
about a millisecond at 640x480). An all-zero ``D`` (or an empty one) needs no undistortion.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: distortion_model -> number of coefficients OpenCV uses.
MODELS: dict[str, int] = {"plumb_bob": 5, "rational_polynomial": 8, "equidistant": 4}


_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-9)


class DistortionError(ValueError):
    """A distortion model this module cannot undo, or malformed coefficients."""


def needs_undistortion(D: np.ndarray) -> bool:
    """True when any coefficient is non-zero."""
    return bool(np.any(np.asarray(D, np.float64) != 0.0))


def check_distortion(model: str, D: np.ndarray) -> None:
    """Raise :class:`DistortionError` unless ``D`` is all zero or a finite vector of a known ``model``."""
    D = np.asarray(D, np.float64).reshape(-1)
    if not needs_undistortion(D):
        return
    if model not in MODELS:
        raise DistortionError(
            f"distortion model {model!r} with non-zero D is not supported; supported: {', '.join(MODELS)} "
            "(or publish rectified images and set input.use_rectified)"
        )
    if not np.isfinite(D).all():
        raise DistortionError(f"distortion coefficients D are not finite: {D.tolist()}")
    if D.size < MODELS[model] and not (model == "plumb_bob" and D.size == 4):
        raise DistortionError(f"{model} needs {MODELS[model]} coefficients, D has {D.size}")


def undistort_maps(
    K_px: np.ndarray, model: str, D: np.ndarray, size_wh: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point maps (CV_16SC2 + CV_16UC1) for ``cv2.remap`` from the distorted image of ``size_wh`` to a
    pinhole image with the same ``K_px``."""
    check_distortion(model, D)
    K = np.asarray(K_px, np.float64).reshape(3, 3)
    D = np.asarray(D, np.float64).reshape(-1)
    w, h = int(size_wh[0]), int(size_wh[1])
    if model == "equidistant":
        return cv2.fisheye.initUndistortRectifyMap(K, D[:4], np.eye(3), K, (w, h), cv2.CV_16SC2)
    return cv2.initUndistortRectifyMap(K, D[: MODELS[model]], None, K, (w, h), cv2.CV_16SC2)


def undistort_points(points_px: np.ndarray, K_px: np.ndarray, model: str, D: np.ndarray) -> np.ndarray:
    """(N, 2) distorted pixel coordinates -> the same points in the undistorted image (same ``K_px``)."""
    pts = np.asarray(points_px, np.float64).reshape(-1, 1, 2)
    if not needs_undistortion(D):
        return pts.reshape(-1, 2).copy()
    check_distortion(model, D)
    K = np.asarray(K_px, np.float64).reshape(3, 3)
    D = np.asarray(D, np.float64).reshape(-1)
    if model == "equidistant":
        out = cv2.fisheye.undistortPoints(pts, K, D[:4], P=K, criteria=_CRITERIA)
    else:  # iterated to convergence (cv2.undistortPoints stops after 5 iterations)
        out = cv2.undistortPoints(pts, K, D[: MODELS[model]], None, None, K, _CRITERIA)
    return out.reshape(-1, 2)


@dataclass(frozen=True)
class _Key:
    model: str
    D: bytes
    K: bytes
    size_wh: tuple[int, int]


class Undistorter:
    """Cached per-camera undistortion. ``builds`` counts map constructions (a test/benchmark hook)."""

    def __init__(self) -> None:
        self._maps: dict[str, tuple[_Key, np.ndarray, np.ndarray]] = {}
        self.builds = 0

    def undistort(
        self, camera: str, image: np.ndarray, K_px: np.ndarray, model: str, D: np.ndarray
    ) -> np.ndarray:
        """``image`` (H, W, C) undistorted (a new array), or ``image`` itself when ``D`` is all zero."""
        if not needs_undistortion(D):
            return image
        h, w = image.shape[:2]
        key = _Key(
            model,
            np.asarray(D, np.float64).tobytes(),
            np.asarray(K_px, np.float64).tobytes(),
            (int(w), int(h)),
        )
        cached = self._maps.get(camera)
        if cached is None or cached[0] != key:
            m1, m2 = undistort_maps(K_px, model, D, (w, h))
            self._maps[camera] = cached = (key, m1, m2)
            self.builds += 1
        return cv2.remap(image, cached[1], cached[2], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def clear(self) -> None:
        self._maps.clear()


def undistort_box_xyxy(box_xyxy_px: np.ndarray, K_px: np.ndarray, model: str, D: np.ndarray) -> np.ndarray:
    """A box (4,) drawn on the distorted image -> the box enclosing its undistorted outline (corners and
    edge midpoints)."""
    x0, y0, x1, y1 = np.asarray(box_xyxy_px, np.float64).reshape(4)
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    outline = np.array([[x0, y0], [xm, y0], [x1, y0], [x1, ym], [x1, y1], [xm, y1], [x0, y1], [x0, ym]])
    p = undistort_points(outline, K_px, model, D)
    return np.array([p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()])
