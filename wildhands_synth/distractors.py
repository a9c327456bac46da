"""Hard negatives for hand detectors: hand-sized dark and skin-coloured shapes painted into a background.

A detector trained only on hands over procedural backgrounds learns "a compact blob in the lower half" as
well as "a hand": on the demo's held-out sequence it fired on a dark rectangle of the background. These
shapes are what it must learn to reject: rectangles, ellipses and hand-like silhouettes (a palm ellipse with
finger bars) the size a hand has at 0.25-0.6 m from the camera, coloured like skin (the scene's tones) or
dark, with a shading gradient. They are background (mask value 0): no label, no box.

Pixel convention as ``wildhands_synth.annotate`` (centre of the top-left pixel at (0, 0)).
"""

from __future__ import annotations

import cv2
import numpy as np

from wildhands_synth.scene import SKIN_TONES

#: A hand's length (wrist to middle fingertip, m) and the palm-centre depths of ``SceneConfig`` (m): a
#: distractor's longest side in pixels is fx x length / depth, as a hand's would be.
HAND_LENGTH_M: tuple[float, float] = (0.10, 0.20)
DEPTH_M: tuple[float, float] = (0.25, 0.6)
SHAPES: tuple[str, ...] = ("rectangle", "ellipse", "hand_like")


def _colour(rng: np.random.Generator) -> np.ndarray:
    """(3,) RGB in [0, 1]: half dark (near black, slightly tinted), half a skin tone with jitter."""
    if rng.random() < 0.5:
        return np.clip(rng.uniform(0.0, 0.18) + rng.normal(0.0, 0.03, size=3), 0.0, 1.0)
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.7, 1.1, size=3)
    return np.clip(skin, 0.0, 1.0)


def _shape_mask(rng: np.random.Generator, shape: str, size_px: float, aspect: float,
                angle_rad: float) -> np.ndarray:
    """(S, S) float32 coverage in {0, 1} of one shape centred in a square of side S ~ 1.5 x size_px."""
    side = int(np.ceil(1.5 * size_px)) + 4
    mask = np.zeros((side, side), np.float32)
    c = np.array([side / 2.0, side / 2.0])
    long_half, short_half = size_px / 2.0, size_px * aspect / 2.0
    rot = np.array([[np.cos(angle_rad), -np.sin(angle_rad)], [np.sin(angle_rad), np.cos(angle_rad)]])

    def poly(half_w: float, half_h: float, offset: np.ndarray) -> np.ndarray:
        corners = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
        return np.round((corners + offset) @ rot.T + c).astype(np.int32)

    if shape == "rectangle":
        cv2.fillPoly(mask, [poly(short_half, long_half, np.zeros(2))], 1.0)
    elif shape == "ellipse":
        cv2.ellipse(mask, (int(c[0]), int(c[1])), (max(int(short_half), 1), max(int(long_half), 1)),
                    float(np.rad2deg(angle_rad)), 0, 360, 1.0, -1)
    else:  # hand_like: a palm ellipse in the lower half and 3-5 finger bars above it
        palm = np.array([0.0, 0.2 * long_half]) @ rot.T + c
        axes = (max(int(short_half), 1), max(int(0.5 * long_half), 1))
        cv2.ellipse(mask, (int(palm[0]), int(palm[1])), axes, float(np.rad2deg(angle_rad)), 0, 360, 1.0, -1)
        n = int(rng.integers(3, 6))
        finger_half_w = max(short_half / (1.6 * n), 1.0)
        for k in range(n):
            x = (-short_half + (k + 0.5) * 2.0 * short_half / n) * 0.9
            length = long_half * rng.uniform(0.35, 0.6)
            cv2.fillPoly(mask, [poly(finger_half_w, length / 2.0, np.array([x, -0.3 * long_half - length / 2.0
                                                                              + 0.2 * long_half]))], 1.0)
    return mask


def paint_distractors(
    background: np.ndarray, rng: np.random.Generator, K_px: np.ndarray, count: int
) -> np.ndarray:
    """Paint ``count`` hand-sized distractors into ``background`` ((H, W, 3) float32 RGB in [0, 1]; a
    painted copy is returned). Each: a shape of ``SHAPES``, longest side fx x U(``HAND_LENGTH_M``) /
    U(``DEPTH_M``) px, aspect 0.35-1, any angle, centred anywhere in the image (lower half twice as likely,
    where hands are), a flat colour (``_colour``) times a linear shading gradient of +-15 %."""
    img = np.array(background, dtype=np.float32, copy=True)
    height, width = img.shape[:2]
    fx = float(K_px[0, 0])
    for _ in range(int(count)):
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        size_px = fx * rng.uniform(*HAND_LENGTH_M) / rng.uniform(*DEPTH_M)
        size_px = float(np.clip(size_px, 8.0, 0.8 * min(width, height)))
        aspect = rng.uniform(0.35, 1.0)
        cover = _shape_mask(rng, shape, size_px, aspect, rng.uniform(0.0, np.pi))
        side = cover.shape[0]
        cx = rng.uniform(0.0, width)
        cy = rng.uniform(0.5, 1.0) * height if rng.random() < 2.0 / 3.0 else rng.uniform(0.0, height)
        x0, y0 = round(cx - side / 2), round(cy - side / 2)
        # overlap of the shape's square with the image
        ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
        if ix0 >= ix1 or iy0 >= iy1:
            continue
        m = cover[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        m = cv2.GaussianBlur(m, (0, 0), 0.7)[..., None]
        yy, xx = np.mgrid[iy0:iy1, ix0:ix1].astype(np.float32)
        g = rng.normal(size=2)
        g = g / max(float(np.linalg.norm(g)), 1e-9)
        shade = 1.0 + 0.15 * ((xx - cx) * g[0] + (yy - cy) * g[1]) / max(size_px / 2.0, 1.0)
        colour = _colour(rng)[None, None, :] * np.clip(shade, 0.7, 1.3)[..., None]
        patch = img[iy0:iy1, ix0:ix1]
        img[iy0:iy1, ix0:ix1] = patch * (1.0 - m) + np.clip(colour, 0.0, 1.0) * m
    return img
