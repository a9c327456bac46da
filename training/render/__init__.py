"""Rasterisers in plain torch: a hard z-buffer (renderer of the synthetic data) and a SoftRas-style
differentiable silhouette (mask loss). Both use a pinhole ``K_px`` in the camera optical frame
(x right, y down, z forward, metres) with pixel centres at integer pixel coordinates."""

from training.render.camera import project_points
from training.render.hard_rasterizer import Fragments, rasterize
from training.render.shading import interpolate_vertex_attributes, lambert_shading, vertex_normals
from training.render.soft_rasterizer import SoftSilhouetteConfig, soft_silhouette

__all__ = [
    "Fragments",
    "SoftSilhouetteConfig",
    "interpolate_vertex_attributes",
    "lambert_shading",
    "project_points",
    "rasterize",
    "soft_silhouette",
    "vertex_normals",
]
