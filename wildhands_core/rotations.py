"""Batched rotation conversions in plain torch (differentiable, ONNX-exportable with opset 17).

Conventions:
- Rotation matrices ``rotmat`` (..., 3, 3) act on column vectors: ``v_rotated = R @ v``.
- 6D (Zhou et al., CVPR 2019, pytorch3d convention): the 6 numbers are the FIRST TWO ROWS of the
  matrix, ``rot_6d = R[..., :2, :].reshape(..., 6)``. Decoding Gram-Schmidt-orthonormalises the two
  rows ``a1 = x[..., 0:3]``, ``a2 = x[..., 3:6]`` into ``b1, b2`` and stacks ``b1, b2, b1 x b2`` as rows.
- Axis-angle ``rot_aa`` (..., 3): unit axis times angle in radians (right-hand rule), angle in [0, pi]
  (:func:`rotmat_to_axis_angle`), except :func:`rotmat_to_axis_angle_release`: the released WildHands
  mapping, angle in [0, 2 pi) (see there). Both describe the same rotation, but they differ as MANO
  input, because smplx adds the mean pose to the axis-angle vector (``flat_hand_mean=False``).
- Quaternions (..., 4) in scipy's scalar-LAST order ``(x, y, z, w)``, as
  ``scipy.spatial.transform.Rotation.as_quat()``; outputs are unit quaternions with ``w >= 0``.

Only elementwise ops, ``atan2``, ``sqrt``, ``argmax`` and ``gather`` are used (no SVD/eig, no
``torch.cross``), so every function exports with the legacy ``torch.onnx.export`` at opset 17.

:func:`rotmat_to_axis_angle_release_numpy` is the release mapping for NumPy callers (the smoother, 16
rotations per hand per frame): scipy's ``Rotation.from_matrix`` computes the same Shepperd quaternion
(same candidate, the same sign), and one NumPy expression the angle; about 20x faster than the torch
graph on such small arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

__all__ = [
    "axis_angle_to_quaternion",
    "axis_angle_to_rotmat",
    "quaternion_to_axis_angle",
    "quaternion_to_rotmat",
    "rot6d_to_rotmat",
    "rotmat_to_axis_angle",
    "rotmat_to_axis_angle_release",
    "rotmat_to_axis_angle_release_numpy",
    "rotmat_to_quaternion",
    "rotmat_to_rot6d",
]

_EPS = 1e-8
_SMALL_ANGLE = 1e-3  # radians: below this, Taylor expansions replace ratios such as sin(t)/t


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cross product over the last dimension (size 3), written with elementwise ops for ONNX."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return torch.stack((ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx), dim=-1)


def _normalize(v: torch.Tensor) -> torch.Tensor:
    return v / torch.sqrt((v * v).sum(dim=-1, keepdim=True)).clamp(min=_EPS)


def rot6d_to_rotmat(rot_6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) first two matrix rows -> (..., 3, 3) rotation matrices (Gram-Schmidt, rows stacked)."""
    a1 = rot_6d[..., 0:3]
    a2 = rot_6d[..., 3:6]
    b1 = _normalize(a1)
    b2 = _normalize(a2 - (b1 * a2).sum(dim=-1, keepdim=True) * b1)
    b3 = _cross(b1, b2)
    return torch.stack((b1, b2, b3), dim=-2)


def rotmat_to_rot6d(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two rows of the matrix, row-major."""
    return rotmat[..., :2, :].reshape((*rotmat.shape[:-2], 6))


def quaternion_to_rotmat(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (x, y, z, w), normalised first -> (..., 3, 3) rotation matrices."""
    q = _normalize(quat_xyzw)
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).reshape((*q.shape[:-1], 3, 3))


def _shepperd_quaternion(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) unit quaternions (x, y, z, w), sign NOT standardised.

    Shepperd's method: four candidate quaternions, each computed from a different diagonal combination;
    the one with the largest ``1 ± m00 ± m11 ± m22`` (always >= 1, since the four sum to 4) is kept, which
    is accurate for every angle, including 0 and pi. The kept candidate's largest-magnitude component is
    positive; ``w`` may be negative (pytorch3d <= 0.7 ``matrix_to_quaternion``, as the release uses it).
    """
    m = rotmat
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    t = torch.stack(
        (1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22, 1 + m00 + m11 + m22), dim=-1
    )
    # 2 * sqrt(t) is the denominator of the candidate; clamping only affects candidates that are not kept.
    d = 2.0 * torch.sqrt(t.clamp(min=0.01))
    dx, dy, dz, dw = d[..., 0], d[..., 1], d[..., 2], d[..., 3]
    cand_x = torch.stack((dx / 4, (m01 + m10) / dx, (m02 + m20) / dx, (m21 - m12) / dx), dim=-1)
    cand_y = torch.stack(((m01 + m10) / dy, dy / 4, (m12 + m21) / dy, (m02 - m20) / dy), dim=-1)
    cand_z = torch.stack(((m02 + m20) / dz, (m12 + m21) / dz, dz / 4, (m10 - m01) / dz), dim=-1)
    cand_w = torch.stack(((m21 - m12) / dw, (m02 - m20) / dw, (m10 - m01) / dw, dw / 4), dim=-1)
    cands = torch.stack((cand_x, cand_y, cand_z, cand_w), dim=-2)  # (..., 4 candidates, 4 components)
    best = torch.argmax(t, dim=-1, keepdim=True)  # (..., 1)
    index = best.unsqueeze(-1).expand((*best.shape[:-1], 1, 4))
    q = torch.gather(cands, -2, index).squeeze(-2)
    return _normalize(q)


def _w_nonnegative(q: torch.Tensor) -> torch.Tensor:
    sign = torch.where(q[..., 3:4] < 0, -torch.ones_like(q[..., 3:4]), torch.ones_like(q[..., 3:4]))
    return q * sign


def rotmat_to_quaternion(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 4) unit quaternions (x, y, z, w) with w >= 0 (Shepperd's method)."""
    return _w_nonnegative(_shepperd_quaternion(rotmat))


def quaternion_to_axis_angle(quat_xyzw: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (x, y, z, w) -> (..., 3) axis-angle with angle in [0, pi]."""
    return _quaternion_to_axis_angle_any_sign(_w_nonnegative(_normalize(quat_xyzw)))


def _quaternion_to_axis_angle_any_sign(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit quaternions (x, y, z, w) -> axis-angle with angle = 2 atan2(|v|, w) in [0, 2 pi)."""
    v = q[..., :3]
    w = q[..., 3:4]
    sin_half = torch.sqrt((v * v).sum(dim=-1, keepdim=True).clamp(min=1e-12))
    angle = 2.0 * torch.atan2(sin_half, w)
    small = angle < _SMALL_ANGLE
    safe_sin_half = torch.where(small, torch.ones_like(sin_half), sin_half)
    # angle / sin(angle / 2) ~ 2 + angle^2 / 12 near 0 (w ~ 1 there).
    factor = torch.where(small, 2.0 + angle * angle / 12.0, angle / safe_sin_half)
    return v * factor


def axis_angle_to_quaternion(rot_aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle (radians) -> (..., 4) unit quaternions (x, y, z, w)."""
    angle = torch.sqrt((rot_aa * rot_aa).sum(dim=-1, keepdim=True).clamp(min=1e-12))
    half = 0.5 * angle
    small = angle < _SMALL_ANGLE
    safe_angle = torch.where(small, torch.ones_like(angle), angle)
    # sin(angle / 2) / angle ~ 1/2 - angle^2 / 48 near 0.
    factor = torch.where(small, 0.5 - angle * angle / 48.0, torch.sin(half) / safe_angle)
    return torch.cat((rot_aa * factor, torch.cos(half)), dim=-1)


def axis_angle_to_rotmat(rot_aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle (radians) -> (..., 3, 3) rotation matrices."""
    return quaternion_to_rotmat(axis_angle_to_quaternion(rot_aa))


def rotmat_to_axis_angle(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) axis-angle (radians, angle in [0, pi]); robust at 0 and pi."""
    return quaternion_to_axis_angle(rotmat_to_quaternion(rotmat))


def rotmat_to_axis_angle_release(rotmat: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 3) axis-angle exactly as the released WildHands model computes it before MANO.

    The Shepperd quaternion (best-conditioned candidate, its largest component positive) is used WITHOUT
    standardising its sign, and the angle is ``2 atan2(|v|, w)``, so it lies in [0, 2 pi): a rotation whose
    kept candidate has ``w < 0`` comes out as ``(2 pi - theta) * (-axis)`` rather than ``theta * axis``
    (release ``common/rot.py``, the pytorch3d <= 0.7 functions; ``shared/reference/README.md``). The released
    weights were trained through this mapping, and smplx adds the MANO mean pose to its result, so the
    finger rotations it feeds MANO must come from here. This is also the convention of the axis-angles the
    project publishes (``msg/Hand.msg``).
    """
    return _quaternion_to_axis_angle_any_sign(_shepperd_quaternion(rotmat))


def rotmat_to_axis_angle_release_numpy(rotmat: np.ndarray) -> np.ndarray:
    """(..., 3, 3) float rotation matrices -> (..., 3) float64 axis-angle, the release mapping of
    :func:`rotmat_to_axis_angle_release` (angle in [0, 2 pi)) computed with scipy and NumPy.

    ``Rotation.from_matrix`` picks the candidate with the largest of ``m00, m11, m22, trace`` (the same one
    as ``1 ± m00 ± m11 ± m22``) and makes that component positive, as Shepperd's method here does;
    ``as_quat(canonical=False)`` keeps that sign.
    """
    m = np.asarray(rotmat, dtype=np.float64)
    q = Rotation.from_matrix(m.reshape(-1, 3, 3)).as_quat(canonical=False)
    v, w = q[:, :3], q[:, 3:4]
    sin_half = np.sqrt(np.maximum((v * v).sum(axis=-1, keepdims=True), 1e-12))
    angle = 2.0 * np.arctan2(sin_half, w)
    small = angle < _SMALL_ANGLE
    factor = np.where(small, 2.0 + angle * angle / 12.0, angle / np.where(small, 1.0, sin_half))
    return (v * factor).reshape((*m.shape[:-2], 3))
