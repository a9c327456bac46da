"""Readers of the files the WildHands authors distribute with their training code (ap229997/hands,
``$DATA_DIR/ego4d_hands/`` and ``$DATA_DIR/epic_hands/``): grasp/box pickles, predicted-mask archives and the
VISOR occlusion labels. Used by the Ego4D, EPIC VISOR and Epic-HandKps adapters.

Formats (as the authors' loaders read them):

- grasp pickle (``grasp_ego.pkl``, ``grasp_visor_train.pkl``): ``{image name: {"right_bbox", "left_bbox":
  [x0, y0, x1, y1] pixels or None (hand absent), "right_grasp", "left_grasp": a grasp name of
  ``AUTHORS_GRASP_NAMES`` or None (= class 8, "no grasp")}}``;
- predicted masks (``ego_blur_pred_masks.npz``, ``visor_pred_masks_train.npz``): ``np.load`` archive keyed by
  the same image name, each (H, W, 3) uint8 whose red channel is 255 on the right hand, 127 on the left;
- ``modal_amodal_annot.pkl``: ``{image name: {"left"/"right": 1 unoccluded, 0 occluded}}`` (a missing side
  counts as occluded).

Image names are the authors' image paths: a relative name is looked up under ``image_root``; an absolute
one as it is, after replacing the prefix ``path_prefix[0]`` by ``path_prefix[1]`` when given.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from training.datasets.base import DatasetFileError, DatasetFormatError, assumed_intrinsics_sample, load_rgb
from training.sample import HandSample
from wildhands_core.handedness import Handedness

#: The authors' grasp names → class index (their loaders' table); None → 8, "no grasp".
AUTHORS_GRASP_NAMES: dict[str, int] = {
    "NP-Palm": 0,
    "NP-Fin": 1,
    "Pow-Pris": 2,
    "Pre-Pris": 3,
    "Pow-Circ": 4,
    "Pre-Circ": 5,
    "Later": 6,
    "Other": 7,
}
NO_GRASP = 8
GRASP_PICKLE_KEYS = ("right_bbox", "left_bbox", "right_grasp", "left_grasp")
RIGHT_MASK_VALUE, LEFT_MASK_VALUE = 255, 127


def read_pickle(path: str | Path) -> Any:
    """Unpickle a file; ``DatasetFileError`` naming it when missing."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"file not found: {path}")
    with path.open("rb") as f:
        try:
            return pickle.load(f)
        except Exception as e:  # truncated / not a pickle
            raise DatasetFormatError(f"{path}: not a readable pickle ({e})") from e


def read_grasp_pickle(path: str | Path) -> dict[str, dict]:
    """The authors' grasp pickle (see the module doc), its first entry's keys checked."""
    data = read_pickle(path)
    if not isinstance(data, dict) or not data:
        raise DatasetFormatError(f"{path}: expected a non-empty dict {{image name: {{...}}}}")
    name, first = next(iter(data.items()))
    if not isinstance(first, dict):
        raise DatasetFormatError(f"{path}: entry {name!r} is a {type(first).__name__}, expected a dict")
    missing = [k for k in GRASP_PICKLE_KEYS if k not in first]
    if missing:
        raise DatasetFormatError(f"{path}: entry {name!r} lacks key(s) {missing}")
    return data


def authors_grasp_class(name: str | None, where: str) -> int:
    """Class index of an authors' grasp name (None → 8); ``DatasetFormatError`` naming ``where``."""
    if name is None:
        return NO_GRASP
    try:
        return AUTHORS_GRASP_NAMES[str(name)]
    except KeyError:
        raise DatasetFormatError(
            f"{where}: unknown grasp {name!r} (expected one of {sorted(AUTHORS_GRASP_NAMES)} or None)"
        ) from None


def open_pred_masks(path: str | Path) -> Any:
    """The ``np.load`` handle of a predicted-mask archive (lazy: masks are read per item)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(f"file not found: {path}")
    try:
        return np.load(path, allow_pickle=True)
    except Exception as e:
        raise DatasetFormatError(f"{path}: not a readable .npz archive ({e})") from e


def hand_masks_from_pred(pred: np.ndarray, where: str) -> dict[bool, np.ndarray]:
    """{is_right: (H, W) uint8 {0, 1}} from one predicted (H, W, 3) or (H, W) mask (red 255 / 127)."""
    a = np.asarray(pred)
    if a.ndim == 3:
        a = a[..., 0]
    if a.ndim != 2:
        raise DatasetFormatError(f"{where}: expected an (H, W, 3) mask, got shape {np.shape(pred)}")
    return {True: (a == RIGHT_MASK_VALUE).astype(np.uint8), False: (a == LEFT_MASK_VALUE).astype(np.uint8)}


def resolve_image(name: str, image_root: Path, path_prefix: tuple[str, str] | None = None) -> Path:
    """Path of an authors' image name (see the module doc)."""
    if path_prefix is not None and name.startswith(path_prefix[0]):
        name = path_prefix[1] + name[len(path_prefix[0]) :]
    p = Path(name)
    return p if p.is_absolute() else image_root / p


def clip_mask_to_box(mask: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
    """``mask`` with everything outside the integer box [x0, x1) x [y0, y1) zeroed (the authors keep a
    predicted mask only inside the hand's box)."""
    x0, y0, x1, y1 = (int(v) for v in np.asarray(box_xyxy, dtype=np.float64))
    out = np.zeros_like(mask)
    out[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = mask[
        max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)
    ]
    return out


@dataclass
class AuthorsHand:
    """One hand of an authors' grasp pickle: its image, box (pixels), grasp class and whether its predicted
    mask is used (image in the archive and, where the occlusion labels are given, labelled unoccluded)."""

    image_path: Path
    name: str  # the authors' image name (pickle / archive key)
    is_right: bool
    box_xyxy_px: np.ndarray
    grasp: int | None
    use_mask: bool


def authors_hands(
    pkl: Path,
    data: dict,
    image_root: Path,
    names: list | None = None,
    mask_names: set | None = None,
    unoccluded: dict | None = None,
    grasp: bool = True,
    path_prefix: tuple[str, str] | None = None,
) -> list[AuthorsHand]:
    """The hands (box not None) of ``data`` (a grasp pickle read from ``pkl``) for the image ``names``
    (default all). ``mask_names``: images of the mask archive (None: no masks); ``unoccluded``: the
    ``modal_amodal_annot.pkl`` dict (None: every hand counts as unoccluded); ``grasp``: attach the class."""
    out = []
    prefix = tuple(path_prefix) if path_prefix else None
    for name in data if names is None else names:
        entry = data[name]
        path = resolve_image(str(name), image_root, prefix)
        for is_right, side in ((True, "right"), (False, "left")):
            box = entry.get(f"{side}_bbox")
            if box is None:
                continue
            g = (
                authors_grasp_class(entry.get(f"{side}_grasp"), f"{pkl} entry {name!r} {side}_grasp")
                if grasp
                else None
            )
            use_mask = mask_names is not None and name in mask_names
            if use_mask and unoccluded is not None:
                use_mask = int((unoccluded.get(name) or {}).get(side, 0)) == 1
            out.append(
                AuthorsHand(path, str(name), is_right, np.asarray(box, np.float64).reshape(4), g, use_mask)
            )
    return out


def authors_hand_sample(
    r: AuthorsHand, masks: Any, masks_path: Path, focal_over_width: float | None, dataset: str
) -> HandSample:
    """The ``HandSample`` of an ``AuthorsHand``: its predicted mask cut to its box (``mask_ignore`` = the
    other hand's mask minus its own) when ``use_mask``; K assumed with ``focal_over_width`` (None:
    max(W, H) / 2)."""
    image = load_rgb(r.image_path)
    h, w = image.shape[:2]
    mask = ignore = None
    if r.use_mask and masks is not None:
        hands = hand_masks_from_pred(masks[r.name], f"{masks_path}[{r.name!r}]")
        if hands[True].shape != (h, w):
            hands = {k: cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST) for k, m in hands.items()}
        mask = clip_mask_to_box(hands[r.is_right], r.box_xyxy_px)
        ignore = hands[not r.is_right] & (1 - mask)
    f = focal_over_width if focal_over_width is not None else 0.5 * max(w, h) / w
    side = Handedness.of(r.is_right).label
    return assumed_intrinsics_sample(
        image,
        f,
        r.box_xyxy_px.copy(),
        r.is_right,
        dataset,
        f"{r.name}/{side}",
        mask=mask,
        mask_ignore=ignore,
        grasp_label=r.grasp,
    )
