"""Recorded image/CameraInfo messages (rosbags dataclasses, or any object with their fields) -> RGB + K.

The decoding and checks are the node's (``wildhands_offline.image_decoding``); here every frame that cannot be
used raises :class:`RejectedFrameError` with a stable ``reason`` key, counted by the bag tools:
``deserialize`` (the recorded bytes are not a valid message), ``encoding`` (unsupported encoding),
``empty_image``, ``image_layout`` (step or data too short: truncated data; the node's key for it is
``step``), ``decode`` (compressed data not decodable), ``camera_info_missing``, ``camera_info_focal``
(non-positive / non-finite K), ``camera_info_size`` (CameraInfo size differs from the image's),
``estimate`` (the estimator refused the frame's boxes).

Images come out as (H, W, 3) uint8 RGB (C-contiguous); ``K_px`` (3, 3) float64 in pixels of that image
(centre of the top-left pixel = (0, 0)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wildhands_offline import image_decoding
from wildhands_offline.image_decoding import InputError

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

#: ``image_decoding`` reason -> the bag tools' key, where they differ.
_BAG_REASON = {"step": "image_layout"}


class RejectedFrameError(InputError):
    """A recorded frame the tools cannot use; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, reason)


def _rejecting(decode: Callable[..., np.ndarray], *args) -> np.ndarray:
    try:
        return decode(*args)
    except RejectedFrameError:
        raise
    except InputError as exc:
        raise RejectedFrameError(_BAG_REASON.get(exc.reason, exc.reason), str(exc)) from exc


def image_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/Image`` -> (H, W, 3) uint8 RGB (honours ``step``: padded rows)."""
    return np.ascontiguousarray(_rejecting(image_decoding.image_to_rgb, msg))


def compressed_to_rgb(msg) -> np.ndarray:
    """``sensor_msgs/CompressedImage`` (JPEG/PNG) -> (H, W, 3) uint8 RGB."""
    return _rejecting(image_decoding.compressed_to_rgb, msg)


def camera_info_to_K(info, image_size: tuple[int, int]) -> np.ndarray:
    """``sensor_msgs/CameraInfo`` -> K (3, 3) in pixels of the paired image of size ``(W, H)``. ROI and
    binning applied as image_geometry does (the image is the ROI, downsampled by binning)."""
    return _rejecting(image_decoding.camera_info_to_K, info, image_size)


__all__ = ["REASONS", "RejectedFrameError", "camera_info_to_K", "compressed_to_rgb", "image_to_rgb"]
