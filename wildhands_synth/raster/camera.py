"""Pinhole projection of camera-frame points (metres, x right, y down, z forward) to pixels, for the
rasterisers.

Pixel convention: the centre of the top-left pixel is (0, 0), so pixel (u, v) covers [u-0.5, u+0.5].
The pixels are ``wildhands_core.camera.project``'s; this wrapper differs only where the rasterisers need it:
it also returns each point's depth and does not clamp z (the rasterisers drop faces by their depth).
"""

from __future__ import annotations

import math

import torch

from wildhands_core.camera import project


def project_points(points_cam_m: torch.Tensor, K_px: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., N, 3) camera-frame points, (..., 3, 3) or (3, 3) K -> ((..., N, 2) pixels, (..., N) z, metres).

    Points at or behind the camera give non-finite or mirrored pixels; callers drop them by ``z``.
    """
    uv = project(points_cam_m, K_px.to(points_cam_m.dtype), min_depth=-math.inf)
    return uv, points_cam_m[..., 2]
