"""Shared pieces of the dataset adapters: the base class, image/JSON readers, joint-order maps, boxes, masks.

Conventions every adapter follows (units and frames as in ``training.sample``):

- Images are read lazily in ``__getitem__`` with ``cv2.imread`` and converted BGR → RGB (uint8).
- A missing or unreadable file raises ``DatasetFileError`` naming the file; a file with an unexpected
  structure raises ``DatasetFormatError`` naming the file and what was expected.
- 3D joints a dataset marks as unannotated are filled with 0 and flagged ``False`` in
  ``sample.extra["joints3d_valid"]`` ((21,) bool); ``keypoints_valid`` flags the 2D keypoints (annotated, in
  front of the camera and inside the image).
- Datasets without intrinsics use ``focal_over_width_K`` (pinhole, principal point at the image centre,
  focal given as a multiple of the image width) through ``assumed_intrinsics_sample``, with the authors'
  assumptions: EPIC (VISOR, Epic-HandKps) focal 1000 px at 1920 wide, Ego4D / Hands23 f = max(W, H) / 2
  (their no-intrinsics KPE); ``focal_over_width`` overrides it per adapter; such samples carry
  ``extra["K_assumed"] = True``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import cv2
import numpy as np
from torch.utils.data import Dataset

from training.sample import HandSample
from wildhands_core.camera import demo_K, project_points
from wildhands_core.constants import OPENPOSE_TO_MANO21

#: InterHand2.6M / AssemblyHands per-hand order: thumb tip→base (0-3), index tip→base (4-7), middle (8-11),
#: ring (12-15), pinky (16-19), wrist (20). ``joints_openpose = joints_interhand[INTERHAND_TO_OPENPOSE]``.
INTERHAND_TO_OPENPOSE: tuple[int, ...] = (
    20,
    3,
    2,
    1,
    0,
    7,
    6,
    5,
    4,
    11,
    10,
    9,
    8,
    15,
    14,
    13,
    12,
    19,
    18,
    17,
    16,
)

#: ``joints_mano21 = joints_interhand[INTERHAND_TO_MANO21]``.
INTERHAND_TO_MANO21: tuple[int, ...] = tuple(INTERHAND_TO_OPENPOSE[i] for i in OPENPOSE_TO_MANO21)



class DatasetFileError(FileNotFoundError):
    """A file the adapter needs is missing or unreadable (the message names it)."""


class DatasetFormatError(ValueError):
    """A file does not have the structure the adapter documents (the message names it)."""


def openpose_to_mano21(x: np.ndarray) -> np.ndarray:
    """Re-order (..., 21, D) from OpenPose order (wrist, thumb, index, middle, ring, pinky) to MANO21."""
    return (
        np.asarray(x)[..., OPENPOSE_TO_MANO21, :]
        if np.ndim(x) > 1
        else np.asarray(x)[list(OPENPOSE_TO_MANO21)]
    )


def interhand_to_mano21(x: np.ndarray) -> np.ndarray:
    """Re-order (..., 21, D) or (21,) from the InterHand2.6M / AssemblyHands order to MANO21."""
    return (
        np.asarray(x)[..., INTERHAND_TO_MANO21, :]
        if np.ndim(x) > 1
        else np.asarray(x)[list(INTERHAND_TO_MANO21)]
    )


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 RGB; ``DatasetFileError`` naming the file if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"image not found: {path}")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetFileError(f"image could not be decoded: {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"annotation file not found: {path}")
    try:
        with path.open() as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"invalid JSON in {path}: {e}") from e


def read_npy_dict(path: str | Path) -> dict:
    """Load a ``.npy`` file holding a pickled dict (``np.save(path, dict)``); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"file not found: {path}")
    obj = np.load(path, allow_pickle=True)
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if not isinstance(obj, dict):
        raise DatasetFormatError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def require_keys(obj: dict, keys: tuple[str, ...] | list[str], where: str | Path) -> None:
    """Raise ``DatasetFormatError`` naming ``where`` if ``obj`` lacks any of ``keys``."""
    missing = [k for k in keys if k not in obj]
    if missing:
        raise DatasetFormatError(f"{where}: missing key(s) {missing}")


def focal_over_width_K(width: int, height: int, focal_over_width: float) -> np.ndarray:
    """The (3, 3) K in pixels a dataset's authors assume for its images: fx = fy = focal_over_width · width
    (the focal scales with the image, unlike the fixed 1000 px of ``demo_K``), principal point
    ((W−1)/2, (H−1)/2) as in ``demo_K``."""
    return demo_K(width, height, focal_px=float(focal_over_width) * float(width))


def in_image(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N,) bool: finite pixel coordinates within [0, W−1] × [0, H−1] (pixel-centre convention)."""
    uv = np.asarray(uv, dtype=np.float64)
    ok = np.all(np.isfinite(uv), axis=1)
    with np.errstate(invalid="ignore"):
        ok &= (uv[:, 0] >= 0) & (uv[:, 0] <= width - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= height - 1)
    return ok


def box_from_keypoints(
    uv: np.ndarray,
    valid: np.ndarray | None = None,
    pad: float = 0.0,
    image_wh: tuple[int, int] | None = None,
) -> np.ndarray | None:
    """Tight box (x0, y0, x1, y1) in pixels around the valid keypoints, each side grown by ``pad`` × its
    length on both ends, clipped to the image when ``image_wh`` is given; ``None`` with no valid point."""
    uv = np.asarray(uv, dtype=np.float64)
    ok = np.all(np.isfinite(uv), axis=1)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    if not ok.any():
        return None
    x0, y0 = uv[ok].min(axis=0)
    x1, y1 = uv[ok].max(axis=0)
    dx, dy = (x1 - x0) * pad, (y1 - y0) * pad
    box = np.array([x0 - dx, y0 - dy, x1 + dx, y1 + dy])
    if image_wh is not None:
        w, h = image_wh
        box[[0, 2]] = np.clip(box[[0, 2]], 0, w - 1)
        box[[1, 3]] = np.clip(box[[1, 3]], 0, h - 1)
    return box


def keypoint_box(
    uv: np.ndarray,
    image_wh: tuple[int, int],
    pad: float,
    annotated: np.ndarray | None = None,
    unclipped_fallback: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Hand box (x0, y0, x1, y1) in pixels from (N, 2) keypoints, and their (N,) bool visibility.

    A keypoint is visible when it is finite, inside [0, W−1] × [0, H−1] (``in_image``) and ``annotated``
    (all when None). The box is ``box_from_keypoints`` of the visible points with ``pad`` per side, clipped
    to the image. With no visible point: if ``unclipped_fallback``, the padded, unclipped box of every finite
    point; failing that (or without it) the whole image (0, 0, W−1, H−1).
    """
    w, h = image_wh
    valid = in_image(uv, w, h)
    if annotated is not None:
        valid &= np.asarray(annotated, dtype=bool)
    box = box_from_keypoints(uv, valid, pad, (w, h))
    if box is None and unclipped_fallback:  # hand entirely outside the image: the unclipped projection
        box = box_from_keypoints(uv, None, pad)
    if box is None:
        box = np.array([0.0, 0.0, w - 1.0, h - 1.0])
    return box, valid


def box_from_mask(mask: np.ndarray) -> np.ndarray | None:
    """Box (x0, y0, x1, y1) in pixels spanning the centres of the mask's extreme pixels; ``None`` if empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], dtype=np.float64)


def polygons_to_mask(
    polygons: list, height: int, width: int, scale_xy: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Rasterise polygons (each a list of [x, y] pairs or a flat [x0, y0, x1, y1, ...] list, in pixels of a
    frame that ``scale_xy`` maps to this image) into an (H, W) uint8 {0, 1} mask (union of the polygons)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    pts = []
    for poly in polygons:
        p = np.asarray(poly, dtype=np.float64).reshape(-1, 2) * np.asarray(scale_xy, dtype=np.float64)
        if len(p) >= 3:
            pts.append(np.round(p).astype(np.int32))
    for p in pts:  # one call per polygon: a single fillPoly of several polygons XORs their overlaps
        cv2.fillPoly(mask, [p], 1)
    return mask


def coco_images(data: dict, path: str | Path) -> dict:
    """Check a COCO-like dict has "images" and "annotations"; return {image id: image entry}."""
    require_keys(data, ("images", "annotations"), path)
    for img in data["images"]:
        require_keys(img, ("id", "file_name"), f"{path} image entry")
    return {img["id"]: img for img in data["images"]}


T = TypeVar("T")


@dataclass(frozen=True)
class CocoHand(Generic[T]):
    """One hand annotation of a COCO-style file (an adapter record): its image, ``"<file_name>/<annotation
    id>"``, its side and what the adapter's ``parse`` read from the annotation."""

    image_path: Path
    frame_id: str
    is_right: bool
    fields: T


def coco_hands(
    root: Path, split: str, keys: tuple[str, ...], parse: Callable[[dict, str], T | None]
) -> list[CocoHand[T]]:
    """The hand annotations, in file order, of the COCO-style ``<root>/annotations/<split>.json`` whose
    images are ``<root>/images/<file_name>`` (checked with ``coco_images``).

    Each annotation must hold "image_id", "hand_side" ("left" | "right", any case) and ``keys``; then
    ``parse(annotation, where)`` (``where`` names the file and annotation id, for error messages) reads the
    adapter's fields, returning None to skip the annotation (its image and side are then not checked).
    Errors (``DatasetFormatError``, naming the annotation): a missing key, an unknown image id, a bad side.
    """
    path = root / "annotations" / f"{split}.json"
    data = read_json(path)
    images = coco_images(data, path)
    hands: list[CocoHand[T]] = []
    for ann in data["annotations"]:
        where = f"{path} annotation {ann.get('id')}"
        require_keys(ann, ("image_id", "hand_side", *keys), where)
        fields = parse(ann, where)
        if fields is None:
            continue
        img = images.get(ann["image_id"])
        if img is None:
            raise DatasetFormatError(f"{where}: unknown image_id {ann['image_id']}")
        side = str(ann["hand_side"]).lower()
        if side not in ("left", "right"):
            raise DatasetFormatError(
                f"{where}: hand_side must be 'left' or 'right', got {ann['hand_side']!r}"
            )
        frame_id = f"{img['file_name']}/{ann.get('id')}"
        hands.append(CocoHand(root / "images" / img["file_name"], frame_id, side == "right", fields))
    return hands


def assumed_intrinsics_sample(
    image: np.ndarray,
    focal_over_width: float,
    box_xyxy_px: np.ndarray,
    is_right: bool,
    dataset: str,
    frame_id: str,
    extra: dict | None = None,
    **fields: Any,
) -> HandSample:
    """``HandSample`` of a dataset without intrinsics: ``K_px`` = ``focal_over_width_K`` of the image's size
    with ``focal_over_width``, ``extra`` = {"K_assumed": True, **extra}; ``fields`` are further ``HandSample``
    fields (keypoints, mask, grasp label, ...)."""
    h, w = image.shape[:2]
    return HandSample(
        image=image,
        K_px=focal_over_width_K(w, h, focal_over_width),
        box_xyxy_px=box_xyxy_px,
        is_right=is_right,
        dataset=dataset,
        frame_id=frame_id,
        extra={"K_assumed": True, **(extra or {})},
        **fields,
    )


def pinhole_joints_sample(
    image: np.ndarray,
    K_px: np.ndarray,
    joints_cam_m: np.ndarray,
    joints_valid: np.ndarray,
    box_pad: float,
    is_right: bool,
    dataset: str,
    frame_id: str,
    unclipped_fallback: bool = False,
) -> HandSample:
    """``HandSample`` of (21, 3) camera-frame joints (metres, MANO21) seen through the pinhole ``K_px``.

    ``keypoints_px`` is their projection (0 behind the camera); box and ``keypoints_valid`` come from
    ``keypoint_box`` (annotated = ``joints_valid``); ``extra["joints3d_valid"]`` = ``joints_valid``. K, joints
    and validity are copied.
    """
    h, w = image.shape[:2]
    uv = project_points(joints_cam_m, K_px)
    box, valid = keypoint_box(uv, (w, h), box_pad, joints_valid, unclipped_fallback)
    return HandSample(
        image=image,
        K_px=np.array(K_px, dtype=np.float64),
        box_xyxy_px=box,
        is_right=is_right,
        dataset=dataset,
        frame_id=frame_id,
        joints_cam_m=np.array(joints_cam_m),
        keypoints_px=np.nan_to_num(uv),
        keypoints_valid=valid,
        extra={"joints3d_valid": np.array(joints_valid, dtype=bool)},
    )


class HandDataset(Dataset, ABC):
    """Base of the adapters: a list of lightweight records built at construction, a ``HandSample`` per item.

    Subclasses fill ``self._records`` in ``__init__`` (no image is read there) and implement ``_load``.
    """

    name: str = ""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetFileError(f"{type(self).__name__}: dataset root not found: {self.root}")
        self._records: list[Any] = []

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> HandSample:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__}: index {index} out of range for {len(self)} samples")
        return self._load(self._records[index])

    @abstractmethod
    def _load(self, record: Any) -> HandSample:
        """Build the sample of one record (reads the image)."""
