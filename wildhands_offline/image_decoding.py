"""Image / CameraInfo messages -> RGB pixels and intrinsics, without rclpy (shared by the node and bag tools).

Only reads attributes of message-like objects (rclpy messages, rosbags dataclasses, anything with the
fields of ``sensor_msgs/Image``, ``CompressedImage`` or ``CameraInfo``), so the bag tools use it without a
ROS install. Images come out as (H, W, 3) uint8 RGB; ``K`` (3, 3) float64 in pixels of that image (centre
of the top-left pixel = (0, 0)). Every validation failure raises an :class:`InputError` subclass whose
``reason`` is a short, stable key used by the node's diagnostics: ``encoding`` (unsupported encoding),
``empty_image``, ``step`` (step shorter than a row, or data shorter than step x height: truncated data),
``decode`` (compressed data not decodable), ``image_too_large`` (more pixels than the node accepts),
``camera_info_focal`` (non-positive / non-finite focal length or principal point), ``camera_info_matrix``
(any other entry of K / P non-finite, or not of the pinhole form [[fx, s, cx], [0, fy, cy], [0, 0, 1]]),
``camera_info_distortion`` (a distortion model that cannot be undone, or non-finite D),
``camera_info_size`` (CameraInfo size differs from the image's).
"""

from __future__ import annotations

import cv2
import numpy as np

from wildhands_core.undistortion import DistortionError, check_distortion

#: Encodings accepted on the image input: channels per pixel and the cv2 conversion to RGB (None = as is).
SUPPORTED_ENCODINGS: dict[str, tuple[int, int | None]] = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
}


class InputError(ValueError):
    """An input message the node cannot use; ``reason`` is a stable key for diagnostics."""

    reason = "input"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class UnsupportedEncodingError(InputError):
    reason = "encoding"


class ImageLayoutError(InputError):
    reason = "image_layout"


class EmptyImageError(InputError):
    reason = "empty_image"


class CameraInfoError(InputError):
    reason = "camera_info"


def _bytes(data) -> np.ndarray:
    """A message's ``data`` (bytes, array.array('B'), numpy uint8) as a zero-copy 1-D uint8 array."""
    return np.frombuffer(memoryview(data).cast("B"), np.uint8)


# --------------------------------------------------------------------------------------------- images
def check_image_size(width: int, height: int, max_pixels: int) -> None:
    """Refuse images of more than ``max_pixels`` pixels (reason ``image_too_large``)."""
    if max_pixels > 0 and int(width) * int(height) > max_pixels:
        raise InputError(
            f"image {width}x{height} has {int(width) * int(height) / 1e6:.1f} Mpx, more than "
            f"input.max_image_pixels = {max_pixels / 1e6:.1f} Mpx: downscale it before the node",
            "image_too_large",
        )


def check_image(msg) -> None:
    """Cheap checks of an Image's metadata (no pixel access): encoding, empty, step and buffer size."""
    if msg.encoding not in SUPPORTED_ENCODINGS:
        raise UnsupportedEncodingError(
            f"unsupported image encoding {msg.encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    h, w, size = int(msg.height), int(msg.width), _bytes(msg.data).size
    if h == 0 or w == 0 or size == 0:
        raise EmptyImageError(f"empty image ({w}x{h}, {size} bytes)")
    row, step = w * SUPPORTED_ENCODINGS[msg.encoding][0], int(msg.step)
    if step < row:
        raise ImageLayoutError(f"step {step} < width*channels {row} for {msg.encoding} {w}x{h}", "step")
    if size < step * h:
        raise ImageLayoutError(f"data has {size} bytes, step*height needs {step * h}", "step")


def image_view(msg, checked: bool = False) -> np.ndarray:
    """Zero-copy numpy view (H, W, C) uint8 on the message buffer in its own encoding; honours ``step``
    (padded rows are skipped by the view's strides). Raises :class:`InputError` subclasses; ``checked``:
    :func:`check_image` already passed for this message (not repeated)."""
    if not checked:
        check_image(msg)
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    channels = SUPPORTED_ENCODINGS[msg.encoding][0]
    rows = _bytes(msg.data)[: step * h].reshape(h, step)
    return rows[:, : w * channels].reshape(h, w, channels)


def image_to_rgb(msg, checked: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an Image: a zero-copy view for ``rgb8`` (possibly read-only and strided
    when ``step`` has padding), one ``cv2.cvtColor`` for bgr8, rgba8, bgra8 and mono8 (``checked``: as
    :func:`image_view`)."""
    view = image_view(msg, checked)
    code = SUPPORTED_ENCODINGS[msg.encoding][1]
    if code is None:
        return view
    return cv2.cvtColor(view, code)


def compressed_to_rgb(msg) -> np.ndarray:
    """Decode a CompressedImage (JPEG/PNG, ``format`` as image_transport writes it) to (H, W, 3) RGB."""
    buf = _bytes(msg.data)
    if buf.size == 0:
        raise EmptyImageError("empty compressed image")
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"compressed image (format {msg.format!r}) could not be decoded", "decode")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------------------------------- camera info
def camera_info_to_K(
    info, image_size: tuple[int, int] | None = None, use_rectified: bool = False
) -> np.ndarray:
    """Intrinsics (3, 3) float64 in pixels of the image the CameraInfo describes.

    ``use_rectified``: take ``P[:, :3]`` (for rectified images) instead of ``K``. Binning and ROI are
    applied as image_geometry does (the image is the ROI, downsampled by ``binning_x/y``).
    ``image_size = (W, H)`` of the paired image: a mismatch with the CameraInfo's (ROI/binned) size raises
    :class:`CameraInfoError` (reason ``camera_info_size``); zero, negative or non-finite focal lengths or a
    non-finite principal point raise reason ``camera_info_focal``.
    """
    if use_rectified:
        full = np.asarray(info.p, dtype=np.float64).reshape(3, 4)
        K = full[:, :3].copy()
        which = "P"
    else:
        full = np.asarray(info.k, dtype=np.float64).reshape(3, 3)
        K = full.copy()
        which = "K"
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if not (np.isfinite([fx, fy, cx, cy]).all() and fx > 0 and fy > 0):
        raise CameraInfoError(
            f"CameraInfo {which} has invalid focal length/principal point "
            f"(fx={fx}, fy={fy}, cx={cx}, cy={cy})",
            "camera_info_focal",
        )
    if not np.isfinite(full).all() or K[1, 0] != 0 or K[2].tolist() != [0.0, 0.0, 1.0]:
        raise CameraInfoError(
            f"CameraInfo {which} is not a finite pinhole matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]]: "
            f"{full.tolist()}",
            "camera_info_matrix",
        )
    bx, by = max(int(info.binning_x), 1), max(int(info.binning_y), 1)
    roi = info.roi
    if roi.width or roi.height or bx > 1 or by > 1:
        K[0, 2] -= roi.x_offset
        K[1, 2] -= roi.y_offset
        K[0] /= bx
        K[1] /= by
    if image_size is not None:
        check_info_size(camera_info_size(info), image_size)
    return K


def camera_info_size(info) -> tuple[int, int]:
    """(W, H) of the images a CameraInfo describes: its ROI (or full) size downsampled by the binning, as
    image_geometry does; (0, 0) components where the CameraInfo gives no size."""
    bx, by = max(int(info.binning_x), 1), max(int(info.binning_y), 1)
    w = int(info.roi.width) or int(info.width)
    h = int(info.roi.height) or int(info.height)
    return (w // bx, h // by)


def check_info_size(info_size: tuple[int, int], image_size: tuple[int, int]) -> None:
    """Refuse an image whose (W, H) differs from its CameraInfo's (reason ``camera_info_size``)."""
    w, h = info_size
    if (w, h) != (int(image_size[0]), int(image_size[1])):
        raise CameraInfoError(
            f"CameraInfo size {w}x{h} does not match the image size {image_size[0]}x{image_size[1]}",
            "camera_info_size",
        )


def camera_info_distortion(info, use_rectified: bool = False) -> tuple[str, np.ndarray]:
    """(distortion model, D as float64) of a CameraInfo; ``use_rectified`` (images already rectified, P used)
    gives no distortion. Raises :class:`CameraInfoError` (``camera_info_distortion``) for a model with
    non-zero D that cannot be undone, or non-finite D."""
    D = np.asarray(info.d, dtype=np.float64).reshape(-1)
    model = str(info.distortion_model)
    if use_rectified:
        return model, np.zeros(0)
    try:
        check_distortion(model, D)
    except DistortionError as exc:
        raise CameraInfoError(str(exc), "camera_info_distortion") from exc
    return model, D
