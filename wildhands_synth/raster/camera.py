"""Pinhole projection of camera-frame points (metres, x right, y down, z forward) to pixels.

Pixel convention: the centre of the top-left pixel is (0, 0), so pixel (u, v) covers [u-0.5, u+0.5].
"""

from __future__ import annotations

import torch


def project_points(points_cam_m: torch.Tensor, K_px: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., N, 3) camera-frame points, (..., 3, 3) or (3, 3) K -> ((..., N, 2) pixels, (..., N) z).

    Points at or behind the camera give non-finite or mirrored pixels; callers drop them by ``z``.
    """
    K = K_px.to(points_cam_m.dtype)
    z = points_cam_m[..., 2]
    xy = points_cam_m[..., :2] / z.unsqueeze(-1)
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    skew = K[..., 0, 1, None]
    u = fx * xy[..., 0] + skew * xy[..., 1] + cx
    v = fy * xy[..., 1] + cy
    return torch.stack((u, v), dim=-1), z
