"""Helpers shared by the dataset fixture writers: tiny flat-colour images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, width: int, height: int, rgb: tuple[int, int, int]) -> None:
    """Write a flat-colour image of the given RGB colour (stored BGR by OpenCV), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = rgb[::-1]
    assert cv2.imwrite(str(path), img), path


def interhand_to_openpose_named(hand_interhand: np.ndarray) -> np.ndarray:
    """Test-side reference: InterHand order (thumb4..1, index4..1, ..., pinky4..1, wrist) → OpenPose, written
    out by joint name rather than with the adapter's permutation table."""
    out = np.empty_like(hand_interhand)
    out[0] = hand_interhand[20]
    for f in range(
        5
    ):  # finger f: InterHand indices 4f (tip) .. 4f+3 (base); OpenPose 1+4f (base) .. 4+4f (tip)
        for k in range(4):
            out[1 + 4 * f + k] = hand_interhand[4 * f + 3 - k]
    return out
