"""Camera geometry between an original image and the network's 224x224 frame.

Pixel convention (everywhere in wildhands): the centre of the top-left pixel is (0, 0), u grows to the
right, v grows down. Camera frame: optical frame, x right, y down, z forward, metres.

Letterbox: the original image of size (W, H) is placed in a square of side ``L = max(W, H)`` and that square
is resized to 224x224, so ``scale = 224 / L`` and ``u_224 = scale * u + offset_x`` (same for v). Where the
image sits in the square is a convention of the checkpoint (``ModelConfig.input_convention``):

- ``release`` (the authors' release, ``shared/reference/README.md``): ``u_224 = (u - W/2) * 224/L + 112``,
  i.e. ``offset_x = 112 - scale * W / 2``;
- ``wildhands_v1`` (this project's format-1 checkpoints): the image is CENTRED with whole-pixel padding
  ``pad_x = (L - W) // 2`` on the left/top, and the pixel-centre resize gives
  ``u_224 = scale * (u + pad_x + 0.5) - 0.5``, i.e. ``offset_x = scale * (pad_x + 0.5) - 0.5``.

Either way the mapping is a pure scale + shift of the pixel plane, so the intrinsics map as
``fx' = scale * fx``, ``cx' = scale * cx + offset_x`` and the 3D camera frame is unchanged: a point
expressed in the camera frame projects with the 224-frame K to the 224 frame and with the original K to the
original pixels, and the two are related by :meth:`Letterbox.points_to_original`. Image, boxes and K of one
frame must always be mapped by the same :class:`Letterbox`.

Weak perspective (release): the head predicts ``(s, tx, ty)``; the translation of the MANO hand in the
camera frame is ``(tx, ty, 2 f / (224 s))`` with ``s`` clamped to >= 0.1 and ``f = (fx + fy) / 2`` of the
224-frame intrinsics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wildhands_core.constants import INPUT_SIZE

#: a torch tensor or a NumPy array (the letterbox mappings take either and return the same kind)
Array = torch.Tensor | np.ndarray

__all__ = [
    "LETTERBOX_CONVENTIONS",
    "MIN_WEAK_PERSPECTIVE_SCALE",
    "Letterbox",
    "default_K_224",
    "focal_mean",
    "project",
    "weak_perspective_to_translation",
]

#: Letterbox conventions (= ``wildhands_core.config.INPUT_CONVENTIONS``; see the module docstring).
LETTERBOX_CONVENTIONS = ("release", "wildhands_v1")

#: Lower clamp of the weak-perspective scale s (release), so depth 2f/(224 s) stays finite.
MIN_WEAK_PERSPECTIVE_SCALE = 0.1

#: Focal length (pixels, original resolution) the release demo assumes when no intrinsics are known.
DEMO_FOCAL_PX = 1000.0


@dataclass(frozen=True)
class Letterbox:
    """The letterbox mapping of an original image of ``width`` x ``height`` pixels into the 224 frame.

    ``u_224 = scale * u + offset_x``, ``v_224 = scale * v + offset_y`` (pixel-centre convention);
    ``convention``: ``"release"`` or ``"wildhands_v1"`` (module docstring).
    """

    width: int
    height: int
    size: int = INPUT_SIZE
    convention: str = "release"

    def __post_init__(self) -> None:
        if self.convention not in LETTERBOX_CONVENTIONS:
            raise ValueError(f"convention must be one of {LETTERBOX_CONVENTIONS}, got {self.convention!r}")

    @property
    def side(self) -> int:
        """Side L = max(W, H) of the square the image is padded into, original pixels."""
        return max(self.width, self.height)

    @property
    def scale(self) -> float:
        """224 / max(W, H): 224-frame pixels per original pixel."""
        return self.size / self.side

    @property
    def pad_x(self) -> int:
        """Whole-pixel padding on the left of the image inside the square (``wildhands_v1``)."""
        return (self.side - self.width) // 2

    @property
    def pad_y(self) -> int:
        """Whole-pixel padding above the image inside the square (``wildhands_v1``)."""
        return (self.side - self.height) // 2

    @property
    def offset_x(self) -> float:
        if self.convention == "release":
            return self.size / 2.0 - self.scale * self.width / 2.0
        return self.scale * (self.pad_x + 0.5) - 0.5

    @property
    def offset_y(self) -> float:
        if self.convention == "release":
            return self.size / 2.0 - self.scale * self.height / 2.0
        return self.scale * (self.pad_y + 0.5) - 0.5

    def affine_2x3(self) -> np.ndarray:
        """(2, 3) float64 matrix original pixels -> 224 frame, for ``cv2.warpAffine(img, A, (224, 224))``."""
        return np.array([[self.scale, 0.0, self.offset_x], [0.0, self.scale, self.offset_y]])

    def _coeffs(self, like: Array) -> tuple[Array, Array]:
        scale, offset = [self.scale, self.scale], [self.offset_x, self.offset_y]
        if isinstance(like, torch.Tensor):
            return (torch.tensor(scale, dtype=like.dtype, device=like.device),
                    torch.tensor(offset, dtype=like.dtype, device=like.device))
        return np.asarray(scale), np.asarray(offset)

    def affine_3x3(self, like: Array) -> Array:
        """(3, 3) homogeneous map original pixels -> 224 frame: a tensor like ``like``, else float64 NumPy."""
        A = [[self.scale, 0.0, self.offset_x], [0.0, self.scale, self.offset_y], [0.0, 0.0, 1.0]]
        if isinstance(like, torch.Tensor):
            return torch.tensor(A, dtype=like.dtype, device=like.device)
        return np.asarray(A)

    # The mappings below take and return torch tensors or NumPy arrays alike.
    def points_to_224(self, points_px: Array) -> Array:
        """(..., 2) original pixels -> (..., 2) 224-frame pixels."""
        scale, offset = self._coeffs(points_px)
        return points_px * scale + offset

    def points_to_original(self, points_224: Array) -> Array:
        """(..., 2) 224-frame pixels -> (..., 2) original pixels (inverse of :meth:`points_to_224`)."""
        scale, offset = self._coeffs(points_224)
        return (points_224 - offset) / scale

    def boxes_to_224(self, boxes_px: Array) -> Array:
        """(..., 4) boxes (x0, y0, x1, y1) in original pixels -> the same box corners in the 224 frame."""
        return self.points_to_224(boxes_px.reshape((*boxes_px.shape[:-1], 2, 2))).reshape(boxes_px.shape)

    def boxes_to_original(self, boxes_224: Array) -> Array:
        """(..., 4) boxes (x0, y0, x1, y1) in the 224 frame -> original pixels."""
        pts = self.points_to_original(boxes_224.reshape((*boxes_224.shape[:-1], 2, 2)))
        return pts.reshape(boxes_224.shape)

    def K_to_224(self, K_px: Array) -> Array:
        """(..., 3, 3) intrinsics of the original image -> intrinsics of the 224 frame (same 3D frame)."""
        return self.affine_3x3(K_px) @ K_px

    def K_to_original(self, K_224: torch.Tensor) -> torch.Tensor:
        """(..., 3, 3) intrinsics of the 224 frame -> intrinsics of the original image."""
        A_inv = torch.tensor(
            [
                [1.0 / self.scale, 0.0, -self.offset_x / self.scale],
                [0.0, 1.0 / self.scale, -self.offset_y / self.scale],
                [0.0, 0.0, 1.0],
            ],
            dtype=K_224.dtype,
            device=K_224.device,
        )
        return A_inv @ K_224


def default_K_224(
    width: int, height: int, focal_px: float = DEMO_FOCAL_PX, size: int = INPUT_SIZE
) -> torch.Tensor:
    """(3, 3) float32 224-frame intrinsics the release demo assumes when the camera's K is unknown.

    Focal ``focal_px`` at the original resolution scaled by 224 / max(W, H); principal point at
    (112, 112), the value the release uses (the exact pixel-centre centre would be 111.5).
    """
    f = focal_px * size / max(width, height)
    c = size / 2.0
    return torch.tensor([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]], dtype=torch.float32)


def focal_mean(K: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) intrinsics -> (...,) mean focal (fx + fy) / 2, pixels."""
    return 0.5 * (K[..., 0, 0] + K[..., 1, 1])


def weak_perspective_to_translation(
    cam_wp: torch.Tensor,
    K_224: torch.Tensor,
    size: int = INPUT_SIZE,
    min_scale: float = MIN_WEAK_PERSPECTIVE_SCALE,
) -> torch.Tensor:
    """(N, 3) weak-perspective (s, tx, ty) and (N, 3, 3) 224-frame K -> (N, 3) translation, metres.

    ``t = (tx, ty, 2 f / (size * max(s, min_scale)))`` with ``f = (fx + fy) / 2`` (release convention).
    """
    s = cam_wp[..., 0].clamp(min=min_scale)
    tz = 2.0 * focal_mean(K_224) / (size * s)
    return torch.stack((cam_wp[..., 1], cam_wp[..., 2], tz), dim=-1)


def project(points_cam: torch.Tensor, K: torch.Tensor, min_depth: float = 1e-6) -> torch.Tensor:
    """Pinhole projection: (N, P, 3) camera-frame points (metres) and (N, 3, 3) K -> (N, P, 2) pixels.

    ``u = fx x / z + s y / z + cx``, ``v = fy y / z + cy``; z is clamped to >= ``min_depth``.
    """
    z = points_cam[..., 2:3].clamp(min=min_depth)
    xy1 = torch.cat((points_cam[..., :2] / z, torch.ones_like(z)), dim=-1)
    uvw = xy1 @ K.transpose(-1, -2)
    return uvw[..., :2]


def project_points(points_cam_m: np.ndarray, K_px: np.ndarray) -> np.ndarray:
    """Pinhole projection, NumPy: (..., N, 3) camera-frame points (any unit, optical frame) and (3, 3) K
    in pixels -> (..., N, 2) pixels (centre of the top-left pixel = (0, 0)), float64.

    ``(u, v) = (K @ X)[:2] / (K @ X)[2]`` (a skew ``K[0, 1]`` is honoured); points at z <= 0 (on or behind
    the camera) give NaN. The one NumPy projection of the project; :func:`project` is its torch twin for the
    network's differentiable 224-frame projection.
    """
    p = np.asarray(points_cam_m, dtype=np.float64)
    uvw = p @ np.asarray(K_px, dtype=np.float64).T
    z = p[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = uvw[..., :2] / uvw[..., 2:3]
    return np.where(z > 0, uv, np.nan)


def demo_K(width: int, height: int, focal_px: float = DEMO_FOCAL_PX) -> np.ndarray:
    """(3, 3) float64 intrinsics assumed for an image of unknown camera (the release demo's assumption):
    focal ``focal_px`` pixels, principal point at the image centre ((W - 1) / 2, (H - 1) / 2) in the
    pixel-centre convention."""
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return np.array([[focal_px, 0.0, cx], [0.0, focal_px, cy], [0.0, 0.0, 1.0]])


def checked_K(K_px: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """The intrinsics of a (W, H) image as a (3, 3) float64 array: ``K_px`` checked (3 x 3, finite, positive
    focal lengths), or :func:`demo_K` when None. Raises ``ValueError`` naming what is wrong. The node checks
    a CameraInfo more strictly on arrival (``wildhands_ros.input_handling.CameraModel``)."""
    if K_px is None:
        return demo_K(width, height)
    K = np.asarray(K_px, dtype=np.float64)
    if K.shape != (3, 3) or not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"K must be a finite 3x3 matrix with positive focal lengths, got {K.tolist()}")
    return K
