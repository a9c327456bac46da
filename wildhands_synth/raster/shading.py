"""Per-pixel shading from hard-rasteriser fragments: vertex normals, attribute interpolation, Lambert.

Normals and light directions are in the camera optical frame (x right, y down, z forward).
"""

from __future__ import annotations

import torch


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(V, 3) vertices, (F, 3) faces -> (V, 3) unit normals (area-weighted mean of adjacent face normals,
    right-hand rule on the face winding)."""
    v = verts[faces.long()]
    face_n = torch.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0], dim=1)
    normals = torch.zeros_like(verts)
    for k in range(3):
        normals.index_add_(0, faces[:, k].long(), face_n)
    return normals / normals.norm(dim=1, keepdim=True).clamp(min=1e-12)


def interpolate_vertex_attributes(
    attrs: torch.Tensor, faces: torch.Tensor, face_id: torch.Tensor, bary: torch.Tensor
) -> torch.Tensor:
    """(V, C) per-vertex attributes at fragments -> (..., C): ``face_id`` (...) long (-1 = none) and
    ``bary`` (..., 3) as in ``Fragments`` (whole images, or only the covered pixels); 0 where no face."""
    fid = face_id.clamp(min=0)
    corner = attrs[faces.long()[fid]]  # (..., 3, C)
    out = (bary.unsqueeze(-1).to(attrs.dtype) * corner).sum(dim=-2)
    return out * (face_id >= 0).unsqueeze(-1).to(attrs.dtype)


def lambert_shading(
    normals: torch.Tensor,
    albedo: torch.Tensor,
    light_dir: torch.Tensor,
    ambient: float = 0.35,
    diffuse: float = 0.65,
) -> torch.Tensor:
    """Two-sided Lambert + ambient: (..., 3) normals, (..., 3) or (3,) albedo in [0, 1], (3,) direction
    TOWARDS the light -> (..., 3) colour in [0, 1]. Normals are flipped to face the camera (-z side), so
    the winding of the mesh does not matter."""
    n = normals / normals.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    n = torch.where(n[..., 2:3] > 0, -n, n)
    light = light_dir / light_dir.norm()
    cos = (n * light).sum(dim=-1, keepdim=True).clamp(min=0.0)
    return (albedo * (ambient + diffuse * cos)).clamp(0.0, 1.0)
