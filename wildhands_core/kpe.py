"""KPE: positional encoding of a hand crop's place in the camera (WildHands, ECCV 2024, Sec. 3.2).

A crop alone does not tell the network where it was cut from; the KPE gives the viewing directions of the
crop's pixels. Everything here is in the 224x224 whole-image frame (see :mod:`wildhands_core.camera`):
boxes ``(x0, y0, x1, y1)`` in 224-frame pixels, ``K_224`` the intrinsics of that frame.

Angles of a pixel (u, v) (radians):

    theta_x = atan2(u - cx, fx),    theta_y = atan2(v - cy, fy)

Sinusoidal encoding of an angle vector ``a`` of c components with L frequencies, in the released layout
(frequency outer, component middle, (sin, cos) inner):

    enc(a) = [sin(2^0 a_1), cos(2^0 a_1), ..., sin(2^0 a_c), cos(2^0 a_c), ...,
              sin(2^(L-1) a_1), cos(2^(L-1) a_1), ..., sin(2^(L-1) a_c), cos(2^(L-1) a_c)]   (2 c L values)

Forms:
- sparse (release): centre (2 angles -> 16 values) and the four corners (x0,y0), (x0,y1), (x1,y0), (x1,y1)
  (8 angles, flattened per corner as (theta_x, theta_y) -> 64 values): 80 values, broadcast to 7x7.
- dense: the angles of every crop pixel centre (a G x G grid over the box), encoded per pixel
  (2 angles -> 4 L = 16 channels) and average-pooled to 7x7.
- intrinsics-free: either form with fx = fy = cx = cy = 112 (:func:`intrinsics_free_K`).

All functions are batched, differentiable torch code (no in-place ops).
"""

from __future__ import annotations

import torch
from torch.nn import functional

from wildhands_core.constants import INPUT_SIZE

__all__ = [
    "KPE_NUM_FREQS",
    "SPARSE_KPE_CHANNELS",
    "box_center_and_corners",
    "dense_kpe",
    "dense_kpe_channels",
    "intrinsics_free_K",
    "pixel_angles",
    "sinusoidal_encoding",
    "sparse_kpe",
    "sparse_kpe_map",
]

#: Number of frequencies L of the sinusoidal encoding (release; paper Sec. 3.2).
KPE_NUM_FREQS = 4
#: 16 (centre) + 64 (corners) values of the sparse KPE with L = 4.
SPARSE_KPE_CHANNELS = 80


def pixel_angles(uv: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(N, ..., 2) pixels (u, v) and (N, 3, 3) K -> (N, ..., 2) angles (theta_x, theta_y), radians.

    ``theta_x = atan2(u - cx, fx)``, ``theta_y = atan2(v - cy, fy)``.
    """
    shape = (K.shape[0],) + (1,) * (uv.dim() - 2)
    fx, fy = K[:, 0, 0].reshape(shape), K[:, 1, 1].reshape(shape)
    cx, cy = K[:, 0, 2].reshape(shape), K[:, 1, 2].reshape(shape)
    return torch.stack((torch.atan2(uv[..., 0] - cx, fx), torch.atan2(uv[..., 1] - cy, fy)), dim=-1)


def sinusoidal_encoding(angles: torch.Tensor, num_freqs: int = KPE_NUM_FREQS) -> torch.Tensor:
    """(..., c) angles -> (..., 2 c L) encoding; layout: frequency k outer, component middle, (sin, cos).

    Output index of ``sin(2^k a_i)`` is ``2 (k c + i)``, of ``cos(2^k a_i)`` is ``2 (k c + i) + 1``.
    """
    freqs = 2.0 ** torch.arange(num_freqs, dtype=angles.dtype, device=angles.device)  # (L,)
    scaled = angles.unsqueeze(-2) * freqs.unsqueeze(-1)  # (..., L, c)
    enc = torch.stack((torch.sin(scaled), torch.cos(scaled)), dim=-1)  # (..., L, c, 2)
    return enc.flatten(-3)


def box_center_and_corners(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 4) boxes (x0, y0, x1, y1) -> centres (N, 2) and corners (N, 4, 2) in the release order
    (x0,y0), (x0,y1), (x1,y0), (x1,y1)."""
    x0, y0, x1, y1 = boxes.unbind(-1)
    center = torch.stack((0.5 * (x0 + x1), 0.5 * (y0 + y1)), dim=-1)
    corners = torch.stack(
        (
            torch.stack((x0, y0), -1),
            torch.stack((x0, y1), -1),
            torch.stack((x1, y0), -1),
            torch.stack((x1, y1), -1),
        ),
        dim=-2,
    )
    return center, corners


def intrinsics_free_K(n: int, size: int = INPUT_SIZE, dtype: torch.dtype = torch.float32,
                      device: torch.device | str | None = None) -> torch.Tensor:
    """(n, 3, 3) the intrinsics-free KPE's K: fx = fy = cx = cy = size / 2 (= 112 in the 224 frame)."""
    h = size / 2.0
    K = torch.tensor([[h, 0.0, h], [0.0, h, h], [0.0, 0.0, 1.0]], dtype=dtype, device=device)
    return K.expand(n, 3, 3).clone()


def sparse_kpe(boxes_224: torch.Tensor, K_224: torch.Tensor, num_freqs: int = KPE_NUM_FREQS) -> torch.Tensor:
    """(N, 4) crop boxes and (N, 3, 3) K in the 224 frame -> (N, 80) sparse KPE (L = 4).

    Layout: ``[enc(theta_centre) (16), enc(theta_corners flattened (x0y0.x, x0y0.y, x0y1.x, ...)) (64)]``.
    """
    center, corners = box_center_and_corners(boxes_224)
    center_angles = pixel_angles(center, K_224)  # (N, 2)
    corner_angles = pixel_angles(corners, K_224).flatten(-2)  # (N, 8)
    return torch.cat(
        (sinusoidal_encoding(center_angles, num_freqs), sinusoidal_encoding(corner_angles, num_freqs)), dim=-1
    )


def sparse_kpe_map(boxes_224: torch.Tensor, K_224: torch.Tensor, size: int = 7,
                   num_freqs: int = KPE_NUM_FREQS) -> torch.Tensor:
    """(N, 4) boxes, (N, 3, 3) K -> (N, 80, size, size): the sparse KPE broadcast over a feature map."""
    enc = sparse_kpe(boxes_224, K_224, num_freqs)
    return enc[:, :, None, None].expand(-1, -1, size, size)


def dense_kpe_channels(num_freqs: int = KPE_NUM_FREQS) -> int:
    """Channels of the dense KPE: 2 angles x (sin, cos) x L."""
    return 4 * num_freqs


def dense_kpe(boxes_224: torch.Tensor, K_224: torch.Tensor, size: int = 7, grid: int = 28,
              num_freqs: int = KPE_NUM_FREQS) -> torch.Tensor:
    """(N, 4) boxes, (N, 3, 3) K -> (N, 4 L, size, size) dense KPE.

    The crop (box resized to a square image) is sampled on a ``grid x grid`` lattice of cell centres,
    ``u_j = x0 + (j + 0.5) / grid * (x1 - x0)`` (same for v), i.e. the crop's pixel centres when
    ``grid`` equals the crop's resolution; each point's angles are encoded (channel = 2 (k 2 + i) + {0: sin,
    1: cos}, i = 0 for theta_x, 1 for theta_y) and the map is average-pooled to ``size x size``.
    """
    steps = (torch.arange(grid, dtype=boxes_224.dtype, device=boxes_224.device) + 0.5) / grid  # (G,)
    x0, y0, x1, y1 = (b[:, None] for b in boxes_224.unbind(-1))
    us = x0 + steps[None] * (x1 - x0)  # (N, G)
    vs = y0 + steps[None] * (y1 - y0)  # (N, G)
    n = boxes_224.shape[0]
    uv = torch.stack((us[:, None, :].expand(n, grid, grid), vs[:, :, None].expand(n, grid, grid)), dim=-1)
    enc = sinusoidal_encoding(pixel_angles(uv, K_224), num_freqs)  # (N, G, G, 4L)
    enc = enc.permute(0, 3, 1, 2)
    if grid != size:
        enc = functional.adaptive_avg_pool2d(enc, size)
    return enc
