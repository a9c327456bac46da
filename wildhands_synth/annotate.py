"""2D labels of a rendered hand: keypoints, their visibility, and boxes.

Pixel convention: the centre of the top-left pixel is (0, 0); pixel (u, v) covers [u-0.5, u+0.5] x
[v-0.5, v+0.5]; the image spans [-0.5, W-0.5] x [-0.5, H-0.5].
"""

from __future__ import annotations

import numpy as np

#: A joint counts as visible when the surface seen at its pixel is this hand and at most this far in
#: front of the joint (joints lie inside the finger, about 0.5-1 cm under the skin).
VISIBILITY_DEPTH_TOL_M = 0.02


def keypoint_visibility(
    keypoints_px: np.ndarray, joints_cam_m: np.ndarray, mask: np.ndarray, depth_m: np.ndarray,
    mask_value: int, tol_m: float = VISIBILITY_DEPTH_TOL_M,
) -> np.ndarray:
    """(21,) bool: inside the image, the pixel at the rounded keypoint shows this hand (``mask_value``) and
    its nearest surface is at most ``tol_m`` in front of the joint."""
    height, width = mask.shape
    u = np.floor(keypoints_px[:, 0] + 0.5).astype(np.int64)
    v = np.floor(keypoints_px[:, 1] + 0.5).astype(np.int64)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height) & (joints_cam_m[:, 2] > 0)
    uc, vc = np.clip(u, 0, width - 1), np.clip(v, 0, height - 1)
    same_hand = mask[vc, uc] == mask_value
    not_hidden = depth_m[vc, uc] >= joints_cam_m[:, 2] - tol_m
    return inside & same_hand & not_hidden


def mask_box(mask: np.ndarray, mask_value: int) -> np.ndarray:
    """(4,) tight box (x0, y0, x1, y1) around the pixels equal to ``mask_value``, as pixel extents
    (min column - 0.5, ..., max column + 0.5); all zeros when there is none."""
    ys, xs = np.nonzero(mask == mask_value)
    if xs.size == 0:
        return np.zeros(4)
    return np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5], dtype=np.float64)


def amodal_box(verts_px: np.ndarray, width: int, height: int) -> np.ndarray:
    """(4,) box of all projected mesh vertices (occluded parts included), clipped to the image extent."""
    x0, y0 = verts_px.min(axis=0)
    x1, y1 = verts_px.max(axis=0)
    return np.array([
        np.clip(x0, -0.5, width - 0.5), np.clip(y0, -0.5, height - 0.5),
        np.clip(x1, -0.5, width - 0.5), np.clip(y1, -0.5, height - 0.5),
    ])
