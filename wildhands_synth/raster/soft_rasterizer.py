"""Differentiable soft silhouette (SoftRas, Liu et al., ICCV 2019) in plain torch.

For pixel i and projected triangle j, ``D_ij = sigmoid(delta_ij * d_ij^2 / sigma)`` with ``d_ij`` the
distance in pixels from the pixel centre to the triangle's boundary and ``delta_ij = +1`` inside, -1
outside; the silhouette is ``I_i = 1 - prod_j (1 - D_ij)``, summed in log space
(``log(1 - D) = logsigmoid(-delta d^2 / sigma)``) for stability. Only face x pixel pairs within
``sqrt(cutoff * sigma)`` pixels of a face's bounding box are evaluated (the others change ``I`` by less
than ``sigmoid(-cutoff)`` each), in chunks of at most ``max_pairs`` pairs, each chunk recomputed in
backward (activation checkpointing) so memory stays at a few numbers per pair.

Camera optical frame (x right, y down, z forward, metres), pinhole ``K_px``, pixel centres at integer
coordinates. Faces with a vertex nearer than ``near_m`` are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf
from torch.utils.checkpoint import checkpoint

from wildhands_synth.raster._pairs import face_pixel_boxes, iter_face_pixel_pairs
from wildhands_synth.raster.camera import project_points


@dataclass
class SoftSilhouetteConfig:
    # SoftRas (Liu et al., ICCV 2019, Sec. 4) uses sigma = 1e-4 in squared NDC units, i.e. about 1.25 px^2
    # for a 224-pixel image (one pixel = 2/224 NDC); expressed here directly in squared pixels.
    sigma_px2: float = 1.0
    cutoff: float = 12.0  # skipped pairs contribute D < sigmoid(-12) ~ 6e-6 each
    near_m: float = 1e-3
    max_pairs: int = 1_000_000
    checkpoint: bool = True


def _seg_dist2(px: torch.Tensor, py: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distance from points (P,) to segments a-b, a and b (P, 2)."""
    ex, ey = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
    wx, wy = px - a[:, 0], py - a[:, 1]
    t = ((wx * ex + wy * ey) / (ex * ex + ey * ey).clamp(min=1e-12)).clamp(0.0, 1.0)
    dx, dy = wx - t * ex, wy - t * ey
    return dx * dx + dy * dy


def _log_one_minus_d(
    tri_px: torch.Tensor, face: torch.Tensor, px: torch.Tensor, py: torch.Tensor, sigma_px2: float
) -> torch.Tensor:
    """log(1 - D) for each (face, pixel) pair: (F, 3, 2) triangles, (P,) indices/coordinates -> (P,)."""
    t = tri_px[face]
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    d2 = torch.minimum(_seg_dist2(px, py, a, b), _seg_dist2(px, py, b, c))
    d2 = torch.minimum(d2, _seg_dist2(px, py, c, a))
    with torch.no_grad():
        e0 = (b[:, 0] - a[:, 0]) * (py - a[:, 1]) - (b[:, 1] - a[:, 1]) * (px - a[:, 0])
        e1 = (c[:, 0] - b[:, 0]) * (py - b[:, 1]) - (c[:, 1] - b[:, 1]) * (px - b[:, 0])
        e2 = (a[:, 0] - c[:, 0]) * (py - c[:, 1]) - (a[:, 1] - c[:, 1]) * (px - c[:, 0])
        inside = ((e0 >= 0) & (e1 >= 0) & (e2 >= 0)) | ((e0 <= 0) & (e1 <= 0) & (e2 <= 0))
        sign = inside.to(d2.dtype) * 2.0 - 1.0
    return nnf.logsigmoid(-sign * d2 / sigma_px2)


def soft_silhouette(
    verts_cam_m: torch.Tensor,
    faces: torch.Tensor,
    K_px: torch.Tensor,
    image_size: tuple[int, int],
    config: SoftSilhouetteConfig | None = None,
) -> torch.Tensor:
    """(B, V, 3) camera-frame vertices, (F, 3) faces, (B, 3, 3) or (3, 3) K -> (B, H, W) silhouette in [0, 1].

    Differentiable with respect to ``verts_cam_m`` (and ``K_px``).
    """
    cfg = config or SoftSilhouetteConfig()
    height, width = image_size
    if verts_cam_m.dim() == 2:
        verts_cam_m = verts_cam_m.unsqueeze(0)
    batch = verts_cam_m.shape[0]
    K = K_px if K_px.dim() == 3 else K_px.unsqueeze(0).expand(batch, 3, 3)
    uv, z = project_points(verts_cam_m, K.to(device=verts_cam_m.device, dtype=verts_cam_m.dtype))
    faces = faces.long().to(verts_cam_m.device)
    n_faces = faces.shape[0]
    tri = uv[:, faces].reshape(batch * n_faces, 3, 2)
    tri_zmin = z[:, faces].amin(dim=-1).reshape(-1)
    valid = torch.nonzero(tri_zmin.detach() > cfg.near_m).squeeze(1)
    margin = math.sqrt(cfg.cutoff * cfg.sigma_px2)
    x0, y0, bw, bh = face_pixel_boxes(tri[valid], image_size, margin_px=margin)

    log_sum = verts_cam_m.new_zeros(batch * height * width)
    # recompute in backward only when the pairs need several chunks (one chunk: memory is bounded anyway)
    use_checkpoint = cfg.checkpoint and tri.requires_grad and int((bw * bh).sum()) > cfg.max_pairs
    for chunk_face, chunk_x, chunk_y in iter_face_pixel_pairs(valid, x0, y0, bw, bh, cfg.max_pairs):
        px, py = chunk_x.to(tri.dtype), chunk_y.to(tri.dtype)
        if use_checkpoint:
            term = checkpoint(_log_one_minus_d, tri, chunk_face, px, py, cfg.sigma_px2, use_reentrant=False)
        else:
            term = _log_one_minus_d(tri, chunk_face, px, py, cfg.sigma_px2)
        pix = (chunk_face // n_faces) * (height * width) + chunk_y * width + chunk_x
        log_sum = log_sum.index_add(0, pix, term)
    return (-torch.expm1(log_sum)).view(batch, height, width)
