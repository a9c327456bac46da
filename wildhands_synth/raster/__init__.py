"""Rasterisers in plain torch: a hard z-buffer (renderer of the synthetic data) and a SoftRas-style
differentiable silhouette (mask loss). Both use a pinhole ``K_px`` in the camera optical frame
(x right, y down, z forward, metres) with pixel centres at integer pixel coordinates."""

from wildhands_synth.raster.camera import project_points
from wildhands_synth.raster.hard_rasterizer import Fragments, rasterize
from wildhands_synth.raster.shading import interpolate_vertex_attributes, lambert_shading, vertex_normals
from wildhands_synth.raster.soft_rasterizer import SoftSilhouetteConfig, soft_silhouette

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
