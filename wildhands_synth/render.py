"""Shaded rendering of posed hands (and occluder blobs) over a background, with one shared z-buffer.

Inputs in the camera optical frame (x right, y down, z forward, metres). Outputs: the RGB image (H, W, 3)
uint8, the label mask (H, W) uint8 (0 background, 1 right hand, 2 left hand, 3 occluder object; the pixels
where that part is the nearest surface) and the depth of the nearest surface (H, W) float32 metres (+inf where
there is only background). Shading is two-sided Lambert + ambient with a per-vertex albedo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from wildhands_synth.raster import interpolate_vertex_attributes, lambert_shading, rasterize, vertex_normals
from wildhands_synth.raster.primitives import uv_ellipsoid

MASK_BACKGROUND, MASK_RIGHT, MASK_LEFT, MASK_OCCLUDER = 0, 1, 2, 3


@dataclass
class MeshPart:
    """One mesh to draw: (V, 3) camera-frame vertices (m), (F, 3) faces, (V, 3) albedo, mask value."""

    verts_cam_m: np.ndarray
    faces: np.ndarray
    albedo: np.ndarray
    mask_value: int


@dataclass
class RenderResult:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    mask: np.ndarray  # (H, W) uint8 label per pixel
    depth_m: np.ndarray  # (H, W) float32, inf where background


_ELLIPSOID = uv_ellipsoid((1.0, 1.0, 1.0), 10, 14)


def ellipsoid_part(
    centre_cam_m: np.ndarray, radii_m: np.ndarray, rotmat: np.ndarray, rgb: np.ndarray
) -> MeshPart:
    """An occluder blob: unit sphere scaled by ``radii_m``, rotated, moved to ``centre_cam_m``."""
    v, f = _ELLIPSOID
    verts = (v.numpy().astype(np.float64) * radii_m) @ rotmat.T + centre_cam_m
    return MeshPart(verts, f.numpy(), np.tile(rgb, (verts.shape[0], 1)), MASK_OCCLUDER)


def render_parts(
    parts: list[MeshPart],
    K_px: np.ndarray,
    background: np.ndarray,
    light_dir_cam: np.ndarray,
    ambient: float,
    blur_sigma_px: float = 0.6,
    noise_std: float = 0.01,
    rng: np.random.Generator | None = None,
) -> RenderResult:
    """Draw ``parts`` over ``background`` ((H, W, 3) float in [0, 1]) seen through ``K_px``.

    A light Gaussian blur (``blur_sigma_px``) and pixel noise (``noise_std``, needs ``rng``) make edges and
    flat areas look less synthetic; the mask and depth are not blurred.
    """
    height, width = background.shape[:2]
    if not parts:  # a hand-free frame: the background with the same blur and noise
        return _finish(background.astype(np.float32, copy=True),
                       np.full((height, width), MASK_BACKGROUND, np.uint8),
                       np.full((height, width), np.inf, np.float32), blur_sigma_px, noise_std, rng)
    verts, faces, albedo, face_mask = [], [], [], []
    offset = 0
    for p in parts:
        verts.append(p.verts_cam_m)
        faces.append(p.faces + offset)
        albedo.append(p.albedo)
        face_mask.append(np.full(len(p.faces), p.mask_value, dtype=np.uint8))
        offset += len(p.verts_cam_m)
    v = torch.from_numpy(np.concatenate(verts)).to(torch.float64)
    f = torch.from_numpy(np.concatenate(faces)).long()
    frags = rasterize(v, f, torch.from_numpy(np.asarray(K_px, dtype=np.float64)), (height, width))
    covered = frags.covered
    fid, bary = frags.face_id[covered], frags.bary[covered]  # shade only the covered pixels
    normals = interpolate_vertex_attributes(vertex_normals(v, f).float(), f, fid, bary)
    albedo_px = interpolate_vertex_attributes(torch.from_numpy(np.concatenate(albedo)).float(), f, fid, bary)
    light = torch.from_numpy(np.asarray(light_dir_cam, dtype=np.float32))
    colour = lambert_shading(normals, albedo_px, light, ambient=ambient, diffuse=1.0 - ambient + 0.1).numpy()
    covered_np = covered.numpy()
    img = background.astype(np.float32, copy=True)
    img[covered_np] = colour
    mask = np.full((height, width), MASK_BACKGROUND, dtype=np.uint8)
    mask[covered_np] = np.concatenate(face_mask)[fid.numpy()]
    return _finish(img, mask, frags.depth_m.numpy(), blur_sigma_px, noise_std, rng)


def _finish(
    img: np.ndarray, mask: np.ndarray, depth_m: np.ndarray, blur_sigma_px: float, noise_std: float,
    rng: np.random.Generator | None,
) -> RenderResult:
    """Blur and noise of the float image (H, W, 3) in [0, 1], then uint8."""
    if blur_sigma_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur_sigma_px)
    if noise_std > 0 and rng is not None:
        img = img + rng.normal(0.0, noise_std, size=img.shape).astype(np.float32)
    image = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    return RenderResult(image=image, mask=mask, depth_m=depth_m)
