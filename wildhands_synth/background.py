"""Procedural backgrounds (H, W, 3) float32 RGB in [0, 1]: gradients, smooth noise, stripes, and a
"kitchen counter" of random rectangles; each is a pure function of (kind, seed, size)."""

from __future__ import annotations

import cv2
import numpy as np


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """(H, W, 3) noise in [0, 1], bicubically upsampled from a ``cells``-wide grid."""
    small = rng.random((max(2, cells * height // max(width, 1)), cells, 3)).astype(np.float32)
    return np.clip(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def _gradient(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    c0, c1 = rng.random(3), rng.random(3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return (c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]).astype(np.float32)


def _stripes(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    c0, c1 = rng.random(3), rng.random(3)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(0.03, 0.2) * width
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = (np.cos(angle) * xx + np.sin(angle) * yy) / period * 2 * np.pi
    t = 0.5 + 0.5 * np.sin(phase)
    if rng.random() < 0.5:
        t = (t > 0.5).astype(np.float32)
    return (c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]).astype(np.float32)


def _counter(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A wall above a counter top (horizon in the upper half) with random boxes ("objects") on it."""
    img = _gradient(rng, height, width) * 0.5 + 0.5 * rng.random(3).astype(np.float32)
    horizon = int(rng.uniform(0.2, 0.55) * height)
    top = rng.random(3).astype(np.float32)
    img[horizon:] = top * (0.8 + 0.2 * _smooth_noise(rng, height - horizon, width, 8))
    for _ in range(int(rng.integers(2, 9))):
        w, h = int(rng.uniform(0.05, 0.35) * width), int(rng.uniform(0.05, 0.35) * height)
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        img[y0:y0 + h, x0:x0 + w] = rng.random(3).astype(np.float32)
    return img


def make_background(kind: str, seed: int, width: int, height: int) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] of the given kind ("gradient", "noise", "stripes", "counter")."""
    rng = np.random.default_rng(seed)
    if kind == "gradient":
        img = _gradient(rng, height, width)
    elif kind == "noise":
        img = _smooth_noise(rng, height, width, int(rng.integers(4, 24)))
        img = 0.6 * img + 0.4 * _gradient(rng, height, width)
    elif kind == "stripes":
        img = _stripes(rng, height, width)
    elif kind == "counter":
        img = _counter(rng, height, width)
    else:
        raise ValueError(f"unknown background kind {kind!r}")
    img = img * rng.uniform(0.5, 1.1)
    return np.clip(img, 0.0, 1.0).astype(np.float32)
