"""Camera intrinsics for tools that run without ROS: from a camera_calibration YAML, explicit values or a
field of view, and the undistortion a YAML's distortion asks for.

K (3, 3) in pixels of the image, pixel centres at integer coordinates (top-left pixel centre = (0, 0)), as
everywhere in wildhands and as in ROS ``CameraInfo.k``.

The YAML is the file ``camera_calibration`` (``cameracalibrator``) writes and ``camera_info_manager``
reads (``image_width``, ``image_height``, ``camera_name``, ``camera_matrix``, ``distortion_model``,
``distortion_coefficients``, ``rectification_matrix``, ``projection_matrix``; matrices as
``{rows, cols, data}``). Distortion models: ``plumb_bob`` / ``rational_polynomial`` (OpenCV's coefficient
order k1, k2, p1, p2, k3[, k4, k5, k6]) and ``equidistant`` (OpenCV fisheye k1..k4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant")


@dataclass(frozen=True)
class Intrinsics:
    """``K_px`` (3, 3); image size (W, H) in pixels or None (valid for any size); distortion (model,
    coefficients) of the raw images; ``source``: where the values came from, in words."""

    K_px: np.ndarray
    size: tuple[int, int] | None
    source: str
    distortion_model: str = ""
    distortion: tuple[float, ...] = ()
    camera_name: str = ""

    @property
    def distorted(self) -> bool:
        return any(abs(c) > 0.0 for c in self.distortion)


def from_values(fx: float, fy: float, cx: float, cy: float) -> Intrinsics:
    """Explicit focal lengths and principal point, pixels."""
    if not (fx > 0 and fy > 0) or not np.all(np.isfinite([fx, fy, cx, cy])):
        raise ValueError(f"intrinsics need finite values and positive focal lengths: {fx=} {fy=} {cx=} {cy=}")
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return Intrinsics(K, None, f"explicit values fx={fx:g} fy={fy:g} cx={cx:g} cy={cy:g} px")


def from_fov(width: int, height: int, hfov_deg: float) -> Intrinsics:
    """Square pixels with the horizontal field of view ``hfov_deg`` (degrees, in (0, 180)), principal point
    at the image centre ((W - 1) / 2, (H - 1) / 2): ``fx = fy = (W / 2) / tan(hfov / 2)``."""
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f"--fov-deg must be in (0, 180) degrees, got {hfov_deg}")
    f = (width / 2.0) / np.tan(np.deg2rad(hfov_deg) / 2.0)
    K = np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
    return Intrinsics(K, (width, height), f"horizontal field of view {hfov_deg:g} deg (f = {f:.1f} px)")


def _matrix(d: dict, key: str, shape: tuple[int, int] | None) -> np.ndarray:
    m = d.get(key)
    if not isinstance(m, dict) or "data" not in m:
        raise ValueError(f"camera_info YAML: '{key}' must be a mapping with rows, cols and data")
    data = np.asarray(m["data"], dtype=np.float64)
    rows, cols = int(m.get("rows", 1)), int(m.get("cols", data.size))
    if data.size != rows * cols or (shape is not None and (rows, cols) != shape):
        raise ValueError(f"camera_info YAML: '{key}' is {rows}x{cols} with {data.size} values")
    return data.reshape(rows, cols)


def from_camera_info_yaml(path: str | Path) -> Intrinsics:
    """The camera_calibration YAML at ``path`` (see the module docstring); ValueError naming the field that
    is missing or wrong."""
    import yaml

    path = Path(path)
    d = yaml.safe_load(path.read_text())
    if not isinstance(d, dict):
        raise ValueError(f"{path}: not a camera_info YAML mapping")
    try:
        w, h = int(d["image_width"]), int(d["image_height"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: camera_info YAML needs integer image_width and image_height") from exc
    K = _matrix(d, "camera_matrix", (3, 3))
    if not (K[0, 0] > 0 and K[1, 1] > 0) or not np.all(np.isfinite(K)):
        raise ValueError(f"{path}: camera_matrix needs finite values and positive focal lengths")
    model = str(d.get("distortion_model", "") or "")
    coeffs: tuple[float, ...] = ()
    if "distortion_coefficients" in d:
        coeffs = tuple(float(c) for c in _matrix(d, "distortion_coefficients", None).reshape(-1))
    if any(coeffs) and model not in DISTORTION_MODELS:
        raise ValueError(f"{path}: distortion_model {model!r} is not supported ({list(DISTORTION_MODELS)})")
    name = str(d.get("camera_name", "") or "")
    return Intrinsics(K, (w, h), f"camera_info YAML {path} ({name or 'unnamed camera'}, {w}x{h})",
                      model, coeffs, name)


class Undistorter:
    """Removes the lens distortion of raw images so that they follow the pinhole model with the same K
    (one ``cv2.remap`` per image; maps built once for the size)."""

    def __init__(self, intr: Intrinsics) -> None:
        import cv2

        if intr.size is None:
            raise ValueError("undistortion needs the calibrated image size")
        self.size = intr.size
        K, D = intr.K_px, np.asarray(intr.distortion, np.float64)
        if intr.distortion_model == "equidistant":
            self._maps = cv2.fisheye.initUndistortRectifyMap(K, D[:4], np.eye(3), K, self.size, cv2.CV_16SC2)
        else:
            self._maps = cv2.initUndistortRectifyMap(K, D, np.eye(3), K, self.size, cv2.CV_16SC2)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        import cv2

        return cv2.remap(image, *self._maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
