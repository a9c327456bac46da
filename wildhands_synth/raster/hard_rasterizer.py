"""Hard z-buffer rasteriser in torch: per pixel the nearest face, its depth and barycentrics.

Camera optical frame (x right, y down, z forward, metres), pinhole ``K_px``, pixel centres at integer
coordinates. A pixel is covered by a face when its centre lies inside or on the projected triangle
(either winding). Depth and barycentrics are perspective-correct. Ties in depth go to the lower face id,
so the output is deterministic. Not differentiable (see ``soft_rasterizer`` for that).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from wildhands_synth.raster._pairs import face_pixel_boxes, iter_face_pixel_pairs
from wildhands_synth.raster.camera import project_points


@dataclass
class Fragments:
    """Rasteriser output for one (H, W) image.

    ``face_id`` (H, W) long, -1 where no face; ``depth_m`` (H, W) z in metres, +inf where no face;
    ``bary`` (H, W, 3) perspective-correct barycentrics of the face's 3 vertices, 0 where no face.
    """

    face_id: torch.Tensor
    depth_m: torch.Tensor
    bary: torch.Tensor

    @property
    def covered(self) -> torch.Tensor:
        """(H, W) bool, True where some face is visible."""
        return self.face_id >= 0


def _edge(ax: torch.Tensor, ay: torch.Tensor, bx: torch.Tensor, by: torch.Tensor,
          px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


@torch.no_grad()
def rasterize(
    verts_cam_m: torch.Tensor,
    faces: torch.Tensor,
    K_px: torch.Tensor,
    image_size: tuple[int, int],
    near_m: float = 1e-3,
    max_pairs: int = 2_000_000,
) -> Fragments:
    """Rasterise one mesh, (V, 3) camera-frame vertices and (F, 3) faces, into an (H, W) = ``image_size``.

    Faces with a vertex nearer than ``near_m`` are dropped (no clipping). ``max_pairs`` bounds the
    face x pixel candidates processed at once (memory).
    """
    height, width = image_size
    verts = verts_cam_m.detach().to(torch.float64)
    device = verts.device
    faces = faces.long().to(device)
    uv, z = project_points(verts, K_px.to(device=device, dtype=torch.float64))
    tri = uv[faces]  # (F, 3, 2)
    tri_z = z[faces]  # (F, 3)
    area = _edge(tri[:, 0, 0], tri[:, 0, 1], tri[:, 1, 0], tri[:, 1, 1], tri[:, 2, 0], tri[:, 2, 1])
    valid = (tri_z.amin(dim=1) > near_m) & (area.abs() > 1e-12)
    face_ids = torch.nonzero(valid).squeeze(1)
    x0, y0, bw, bh = face_pixel_boxes(tri[face_ids], image_size)

    pix_all, depth_all, face_all, bary_all = [], [], [], []
    for chunk_face, chunk_x, chunk_y in iter_face_pixel_pairs(
        torch.arange(face_ids.numel(), device=face_ids.device), x0, y0, bw, bh, max_pairs
    ):
        f = face_ids[chunk_face]
        t = tri[f]
        px, py = chunk_x.to(torch.float64), chunk_y.to(torch.float64)
        a = area[f]
        b0 = _edge(t[:, 1, 0], t[:, 1, 1], t[:, 2, 0], t[:, 2, 1], px, py) / a
        b1 = _edge(t[:, 2, 0], t[:, 2, 1], t[:, 0, 0], t[:, 0, 1], px, py) / a
        b2 = 1.0 - b0 - b1
        inside = (b0 >= 0) & (b1 >= 0) & (b2 >= 0)
        if not bool(inside.any()):
            continue
        bary = torch.stack((b0, b1, b2), dim=1)[inside]
        q = bary / tri_z[f[inside]]
        inv_depth = q.sum(dim=1)
        pix_all.append(chunk_y[inside] * width + chunk_x[inside])
        depth_all.append(1.0 / inv_depth)
        face_all.append(f[inside])
        bary_all.append(q / inv_depth.unsqueeze(1))

    n_pix = height * width
    face_id = torch.full((n_pix,), -1, dtype=torch.long, device=device)
    depth = torch.full((n_pix,), float("inf"), dtype=torch.float64, device=device)
    bary_img = torch.zeros((n_pix, 3), dtype=torch.float64, device=device)
    if pix_all:
        pix, dep = torch.cat(pix_all), torch.cat(depth_all)
        fid, bary = torch.cat(face_all), torch.cat(bary_all)
        depth.scatter_reduce_(0, pix, dep, reduce="amin")
        nearest = dep == depth[pix]
        big = torch.full((n_pix,), torch.iinfo(torch.long).max, dtype=torch.long, device=device)
        big.scatter_reduce_(0, pix[nearest], fid[nearest], reduce="amin")
        win = nearest & (fid == big[pix])
        face_id[pix[win]] = fid[win]
        bary_img[pix[win]] = bary[win]
    return Fragments(
        face_id=face_id.view(height, width),
        depth_m=depth.view(height, width).to(torch.float32),
        bary=bary_img.view(height, width, 3).to(torch.float32),
    )
