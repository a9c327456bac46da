"""Input preparation for the network: the letterboxed whole image and the square hand crops.

Conventions: pixel centres at integer coordinates (top-left pixel centre = (0, 0)); boxes are
(x0, y0, x1, y1) in the coordinates of the frame they are given in. The "224 frame" is the letterboxed
whole image (``wildhands_core.camera.Letterbox``).

Two conventions, one per checkpoint (``ModelConfig.input_convention``, recorded in the checkpoint):

- ``release`` (``shared/reference/README.md``): the whole image is blurred at full resolution (5x5 Gaussian,
  sigma 8) and resized bicubically into the 224 square with ``u' = (u - W/2) 224/L + 112``
  (:func:`whole_image_224`). The hand box is rounded to whole pixels of the 224 frame as the release rounds
  it (:func:`release_crop_squares`: integer corners, the floor of the centre, an integer side); a crop is a
  square of side ``crop_scale`` x that side around that centre, cut from the 224 image WITHOUT clipping: the
  parts of the square outside the image are zero padding. Only the box given to the KPE is clipped to
  [0, 223] (whole pixels, as the release).
- ``wildhands_v1`` (this project's format-1 checkpoints): the whole image area-shrunk and placed bilinearly
  (:func:`letterbox_image`); the crop square clipped to [0, 223] (a crop at the border becomes a non-square
  region stretched to 224x224) and the KPE given that clipped box.

``crop_source="full"`` samples the same square region directly from the full-resolution image (more pixels
per hand for distant hands in large images), never clipped (zero padding outside the image).

A crop box ``(x0, y0, x1, y1)`` maps to the crop image so that its edges land on the crop's outer pixel
edges: ``u_crop = (u - x0) * 224 / (x1 - x0) - 0.5`` (``x0 -> -0.5``, ``x1 -> 223.5``; see
:func:`crop_affine_224`). Every warp is one ``cv2.warpAffine`` per crop (no per-pixel Python).
"""

from __future__ import annotations

import cv2
import numpy as np

from wildhands_core.camera import Letterbox
from wildhands_core.constants import IMAGENET_MEAN, IMAGENET_STD, INPUT_SIZE

CROP_SOURCES = ("whole224", "full")
#: Release whole-image filter: a 5x5 Gaussian with sigma 8 (full-resolution pixels) before the resize.
RELEASE_BLUR_KSIZE = 5
RELEASE_BLUR_SIGMA = 8.0


def letterbox_image(image: np.ndarray, lb: Letterbox) -> np.ndarray:
    """(H, W, 3) uint8 image -> (224, 224, 3) uint8 letterboxed image, exactly ``lb``'s mapping.

    Anti-aliased: the image is first shrunk with INTER_AREA to about the target scale, then placed with
    one exact affine warp (bilinear) so that the mapping is ``u_224 = lb.scale * u + lb.offset_x``.
    """
    h, w = image.shape[:2]
    if (w, h) != (lb.width, lb.height):
        raise ValueError(f"letterbox made for {lb.width}x{lb.height}, image is {w}x{h}")
    src = image
    sx = sy = 1.0
    if lb.scale < 0.75:
        w2, h2 = max(1, round(w * lb.scale)), max(1, round(h * lb.scale))
        src = cv2.resize(image, (w2, h2), interpolation=cv2.INTER_AREA)
        sx, sy = w2 / w, h2 / h  # cv2.resize maps u -> sx (u + 0.5) - 0.5
    # original u = (u_src + 0.5) / sx - 0.5  ->  u_224 = scale u + off
    A = np.array(
        [
            [lb.scale / sx, 0.0, lb.scale * (0.5 / sx - 0.5) + lb.offset_x],
            [0.0, lb.scale / sy, lb.scale * (0.5 / sy - 0.5) + lb.offset_y],
        ]
    )
    return cv2.warpAffine(src, A, (lb.size, lb.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def whole_image_224(image: np.ndarray, lb: Letterbox) -> np.ndarray:
    """(H, W, 3) uint8 image -> (224, 224, 3) uint8 whole image as ``lb.convention`` prepares it.

    ``release``: 5x5 Gaussian blur (sigma 8) at full resolution, then one bicubic warp with ``lb``'s mapping
    (zero outside the image); ``wildhands_v1``: :func:`letterbox_image`.
    """
    if lb.convention != "release":
        return letterbox_image(image, lb)
    h, w = image.shape[:2]
    if (w, h) != (lb.width, lb.height):
        raise ValueError(f"letterbox made for {lb.width}x{lb.height}, image is {w}x{h}")
    k = RELEASE_BLUR_KSIZE
    blurred = cv2.GaussianBlur(image, (k, k), RELEASE_BLUR_SIGMA)
    return cv2.warpAffine(
        blurred, lb.affine_2x3(), (lb.size, lb.size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT
    )


def crop_and_kpe_boxes(
    boxes_224: np.ndarray, crop_scale: float, convention: str, crop_source: str = "whole224",
    size: int = INPUT_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) hand boxes in the 224 frame -> ((N, 4) crop squares to cut, (N, 4) boxes for the KPE angles).

    ``release``: the release's whole-pixel square, unclipped, and its KPE box (:func:`release_crop_squares`);
    ``wildhands_v1``: the square clipped (``whole224``) or not (``full``), the KPE box = the crop box.
    """
    if convention == "release":
        return release_crop_squares(boxes_224, crop_scale, size)
    crop = square_crop_boxes(boxes_224, crop_scale, clip=crop_source == "whole224", size=size)
    return crop, crop.copy()


def release_crop_squares(
    boxes_224: np.ndarray, crop_scale: float, size: int = INPUT_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) hand boxes in the 224 frame (floats, as the letterbox maps them) -> ((N, 4) crop squares,
    (N, 4) KPE boxes), rounded as the release demo does (ap229997/hands, branch ``demo``,
    ``wildhands/datasets/dataset.py`` L53-84 with ``wildhands/common/data_utils.py``):

    1. each corner u' becomes ``trunc(u') + 1`` (``transform``: ``astype(int) + 1``);
    2. it goes to [-1, 1] and back in float32 (``normalize_kp2d_np``, ``astype("float32")``,
       ``((p + 1) / 2) * 224``), which leaves e.g. 2 as 1.999999, and is clipped to [0, 223];
    3. ``x0 = int(a)``, ``x1 = int(a + (b - a))`` (float32), the same in v; centre ``((x0 + x1) // 2,
       (y0 + y1) // 2)``, integer side ``max(x1 - x0, y1 - y0)``;
    4. the crop square: side ``crop_scale`` x that side around that centre (never clipped; at least 8 px);
       the KPE box: ``centre -/+ (side x crop_scale) // 2`` clipped to [0, size - 1], whole pixels.
    """
    b = np.asarray(boxes_224, dtype=np.float64).reshape(-1, 4)
    corners = np.trunc(b) + 1.0
    unit = (2.0 * corners / size - 1.0).astype(np.float32)
    f32 = np.float32
    back = np.clip((unit + f32(1.0)) / f32(2.0) * f32(size), f32(0.0), f32(size - 1))
    w, h = back[:, 2] - back[:, 0], back[:, 3] - back[:, 1]
    x0, y0 = np.trunc(back[:, 0]).astype(np.int64), np.trunc(back[:, 1]).astype(np.int64)
    x1, y1 = np.trunc(back[:, 0] + w).astype(np.int64), np.trunc(back[:, 1] + h).astype(np.int64)
    centre = np.stack([(x0 + x1) // 2, (y0 + y1) // 2], axis=1).astype(np.float64)
    side = np.maximum(x1 - x0, y1 - y0) * float(crop_scale)
    half = np.maximum(side, 8.0)[:, None] / 2.0
    crop = np.concatenate([centre - half, centre + half], axis=1)
    half_kpe = (side // 2)[:, None]
    kpe = np.floor(np.clip(np.concatenate([centre - half_kpe, centre + half_kpe], axis=1), 0.0, size - 1.0))
    return crop, kpe


def clip_boxes_224(boxes_224: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """(N, 4) boxes -> corners clipped to [0, size - 1], at least 2 px wide and high."""
    out = np.clip(np.asarray(boxes_224, dtype=np.float64).reshape(-1, 4), 0.0, size - 1.0)
    out[:, 2] = np.maximum(out[:, 2], out[:, 0] + 2.0)
    out[:, 3] = np.maximum(out[:, 3], out[:, 1] + 2.0)
    return out


def square_crop_boxes(
    boxes_224: np.ndarray, crop_scale: float, clip: bool, size: int = INPUT_SIZE
) -> np.ndarray:
    """(N, 4) hand boxes in the 224 frame -> (N, 4) crop boxes in the 224 frame.

    Square of side ``crop_scale * max(box w, box h)`` centred on the box; with ``clip`` its corners are
    clipped to [0, size - 1] (``wildhands_v1``). Degenerate boxes get a side of at least 8 px (224 frame).
    """
    b = np.asarray(boxes_224, dtype=np.float64).reshape(-1, 4)
    c = 0.5 * (b[:, :2] + b[:, 2:])
    side = np.maximum(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * crop_scale, 8.0)
    out = np.concatenate([c - side[:, None] / 2, c + side[:, None] / 2], axis=1)
    # clipped: at least 2 px so the warp stays invertible
    return clip_boxes_224(out, size) if clip else out


def crop_affine_224(
    crop_box_224: np.ndarray, size: int = INPUT_SIZE, convention: str = "release"
) -> np.ndarray:
    """(4,) crop box in the 224 frame -> (3, 3) affine from 224-frame pixels to crop pixels.

    ``release``: the box's centre goes to crop pixel ``size / 2`` and ``x0 -> 0`` (the release's
    ``gen_trans_from_patch_cv``, ``dst_center = dst_w * 0.5``); ``wildhands_v1``: the corners are pixel
    edges, ``x0 -> -0.5`` and ``x1 -> size - 0.5`` (half a crop pixel apart from the release).
    """
    x0, y0, x1, y1 = (float(v) for v in crop_box_224)
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    edge = 0.0 if convention == "release" else -0.5
    return np.array([[sx, 0.0, -x0 * sx + edge], [0.0, sy, -y0 * sy + edge], [0.0, 0.0, 1.0]])


def cut_crops(
    image: np.ndarray,
    whole_224: np.ndarray,
    lb: Letterbox,
    crop_boxes_224: np.ndarray,
    crop_source: str = "whole224",
    size: int = INPUT_SIZE,
) -> np.ndarray:
    """Cut the crops: (N, 4) crop boxes (224 frame) -> (N, 224, 224, 3) uint8 (bicubic, zero padding)."""
    if crop_source not in CROP_SOURCES:
        raise ValueError(f"crop_source must be one of {CROP_SOURCES}, got {crop_source!r}")
    n = len(crop_boxes_224)
    out = np.zeros((n, size, size, 3), dtype=np.uint8)
    lb_affine = np.vstack([lb.affine_2x3(), [0.0, 0.0, 1.0]])
    for i, box in enumerate(crop_boxes_224):
        A = crop_affine_224(box, size, lb.convention)
        if crop_source == "whole224":
            src, M = whole_224, A
        else:
            src, M = image, A @ lb_affine
        cv2.warpAffine(
            src, M[:2], (size, size), dst=out[i], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT
        )
    return out


_MEAN = np.asarray(IMAGENET_MEAN, dtype=np.float32) * 255.0
_INV_STD = 1.0 / (np.asarray(IMAGENET_STD, dtype=np.float32) * 255.0)


#: (256, 1, 3) float32: the normalised value of every uint8 level per channel, ``(v - mean) / std`` (the
#: table layout ``cv2.LUT`` takes for 3-channel images).
_LUT = np.ascontiguousarray(
    ((np.arange(256, dtype=np.float32)[:, None] - _MEAN[None, :]) * _INV_STD[None, :]).reshape(256, 1, 3)
)


def normalize(images_uint8: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 RGB -> (B, 3, H, W) float32, ImageNet-normalised ``(v - mean) / std``.

    One table look-up per pixel (``cv2.LUT``, the table computed once in float32 with the same two
    operations) and one channel split per image into the channel-first array: bit-identical to the
    arithmetic, about 5x faster than it for a frame's three 224x224 images.
    """
    x = np.asarray(images_uint8, dtype=np.uint8)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected (B, H, W, 3) uint8 images, got shape {x.shape}")
    out = np.empty((x.shape[0], 3, x.shape[1], x.shape[2]), np.float32)
    for i in range(x.shape[0]):
        cv2.split(cv2.LUT(np.ascontiguousarray(x[i]), _LUT), [out[i, 0], out[i, 1], out[i, 2]])
    return out
