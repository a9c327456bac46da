"""Recorded image/CameraInfo messages (rosbags dataclasses, or any object with their fields) -> RGB + K.

Every frame that cannot be used raises :class:`RejectedFrameError` with a stable ``reason`` key, counted by
the bag tools (the node's diagnostics use the same keys):
``deserialize`` (the recorded bytes are not a valid message), ``encoding`` (unsupported encoding),
``empty_image``, ``image_layout`` (step or data too short: truncated data), ``decode`` (compressed data
not decodable), ``camera_info_missing``, ``camera_info_focal`` (non-positive / non-finite K),
``camera_info_size`` (CameraInfo size differs from the image's), ``estimate`` (the estimator refused the
frame's boxes).

Images come out as (H, W, 3) uint8 RGB; ``K_px`` (3, 3) float64 in pixels of that image (centre of the
top-left pixel = (0, 0)).
"""

from __future__ import annotations

import cv2
import numpy as np

#: Encodings accepted: channels per pixel and the cv2 conversion to RGB (None = as is).
SUPPORTED_ENCODINGS: dict[str, tuple[int, int | None]] = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
}

#: Every reason a frame can be rejected for, in report order.
REASONS = (
    "deserialize",
    "encoding",
    "empty_image",
    "image_layout",
    "decode",
    "camera_info_missing",
    "camera_info_focal",
    "camera_info_size",
    "estimate",
)


class RejectedFrameError(ValueError):
    """A recorded frame the tools cannot use; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def image_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/Image`` -> (H, W, 3) uint8 RGB (honours ``step``: padded rows)."""
    if msg.encoding not in SUPPORTED_ENCODINGS:
        raise RejectedFrameError("encoding", f"unsupported image encoding {msg.encoding!r}")
    h, w = int(msg.height), int(msg.width)
    data = np.frombuffer(memoryview(msg.data).cast("B"), np.uint8)
    if h == 0 or w == 0 or data.size == 0:
        raise RejectedFrameError("empty_image", f"empty image ({w}x{h}, {data.size} bytes)")
    channels, code = SUPPORTED_ENCODINGS[msg.encoding]
    step = int(msg.step)
    if step < w * channels or data.size < step * h:
        raise RejectedFrameError(
            "image_layout",
            f"{msg.encoding} {w}x{h}: step {step}, {data.size} bytes (needs {w * channels * h})",
        )
    view = data[: step * h].reshape(h, step)[:, : w * channels].reshape(h, w, channels)
    return np.ascontiguousarray(view) if code is None else cv2.cvtColor(view, code)


def compressed_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (JPEG/PNG) -> (H, W, 3) uint8 RGB."""
    data = np.frombuffer(memoryview(msg.data).cast("B"), np.uint8)
    if data.size == 0:
        raise RejectedFrameError("empty_image", "empty compressed image")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise RejectedFrameError("decode", f"compressed image (format {msg.format!r}) could not be decoded")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def camera_info_to_K(info, image_size: tuple[int, int]) -> np.ndarray:
    """``sensor_msgs/CameraInfo`` -> K (3, 3) in pixels of the paired image of size ``(W, H)``. ROI and
    binning applied as image_geometry does (the image is the ROI, downsampled by binning)."""
    K = np.asarray(info.k, np.float64).reshape(3, 3).copy()
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if not (np.isfinite([fx, fy, cx, cy]).all() and fx > 0 and fy > 0):
        raise RejectedFrameError("camera_info_focal",
                                 f"CameraInfo K invalid (fx={fx}, fy={fy}, cx={cx}, cy={cy})")
    bx, by = max(int(info.binning_x), 1), max(int(info.binning_y), 1)
    roi = info.roi
    w = int(roi.width) or int(info.width)
    h = int(roi.height) or int(info.height)
    if roi.width or roi.height or bx > 1 or by > 1:
        K[0, 2] -= roi.x_offset
        K[1, 2] -= roi.y_offset
        K[0] /= bx
        K[1] /= by
        w, h = w // bx, h // by
    if (w, h) != (int(image_size[0]), int(image_size[1])):
        raise RejectedFrameError(
            "camera_info_size", f"CameraInfo size {w}x{h} != image size {image_size[0]}x{image_size[1]}"
        )
    return K
