"""Ego4D hand masks with grasp labels (Cheng et al., "Towards a richer 2D understanding of hands at scale",
NeurIPS 2023): mask + grasp class per hand, no 3D.

The exact file format of the public release was not available when this adapter was written: the layout
below is MODELLED ON THE PUBLIC DESCRIPTION of the release (per-hand side, box, segmentation and grasp type
on Ego4D frames) in COCO style, and every field marked * is an assumption. Convert the release into it
once (a short script) if it differs::

    <root>/annotations/<split>.json
        {"images": [{"id", "file_name", "width", "height"}],
         "annotations": [{"id", "image_id",
                          "hand_side"*: "left" | "right",
                          "segmentation"*: [[x0, y0, x1, y1, ...], ...]   COCO polygons, image pixels,
                          "bbox"*: [x, y, w, h]                           optional, COCO xywh pixels,
                          "grasp_type"*: one of GRASP_CLASS_NAMES[:8], "no-grasp"/"none", or null}]}
    <root>/images/<file_name>

Grasp names are matched case- and punctuation-insensitively ("Pow-Pris" = "pow_pris"; "Later" = "Lateral";
"none" / "no grasp" → 8). A null or absent ``grasp_type`` means unlabelled (``grasp_label`` None). The box is
``bbox`` when given, else the mask's extent. No intrinsics: K assumes focal ``focal_over_width`` × width.
``mask_ignore`` is the union of the OTHER hand annotations' polygons of the same image minus this hand's mask
(a visible mask says nothing about whether the hand lies behind another hand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DEFAULT_FOCAL_OVER_WIDTH,
    CocoHand,
    DatasetFormatError,
    HandDataset,
    assumed_intrinsics_sample,
    box_from_mask,
    coco_hands,
    load_rgb,
    polygons_to_mask,
)
from training.sample import HandSample
from wildhands_core.constants import GRASP_CLASS_NAMES


def _norm(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


_GRASP_INDEX = {_norm(n): i for i, n in enumerate(GRASP_CLASS_NAMES)}
_GRASP_INDEX.update({"later": 6, "none": 8, "nograsp": 8, "nocontact": 8})


def grasp_index(name: str | None) -> int | None:
    """Grasp class index in ``GRASP_CLASS_NAMES`` of a grasp name, None for None; ``KeyError`` if unknown."""
    if name is None:
        return None
    return _GRASP_INDEX[_norm(str(name))]


@dataclass
class _GraspFields:
    polygons: list
    bbox_xywh: list | None
    grasp: int | None
    other_polygons: list = field(default_factory=list)  # the other hands of the image, filled after parsing


def _parse_grasp(ann: dict, where: str) -> _GraspFields:
    """Polygons, COCO xywh box (or None), grasp index (or None) of one annotation; errors name ``where``."""
    if not isinstance(ann["segmentation"], list):
        raise DatasetFormatError(f"{where}: only polygon segmentations are supported (got RLE)")
    try:
        grasp = grasp_index(ann.get("grasp_type"))
    except KeyError as e:
        raise DatasetFormatError(f"{where}: unknown grasp_type {ann.get('grasp_type')!r}") from e
    return _GraspFields(ann["segmentation"], ann.get("bbox"), grasp)


class Ego4DGraspDataset(HandDataset):
    """Ego4D hands of Cheng et al.: one ``HandSample`` per hand with mask, box, grasp label, assumed K."""

    name = "ego4d_grasp"

    def __init__(
        self, root: str | Path, split: str = "train", focal_over_width: float = DEFAULT_FOCAL_OVER_WIDTH
    ) -> None:
        super().__init__(root)
        self.focal_over_width = focal_over_width
        self._records = coco_hands(self.root, split, ("segmentation",), _parse_grasp)
        by_image: dict[Path, list[CocoHand[_GraspFields]]] = {}
        for r in self._records:
            by_image.setdefault(r.image_path, []).append(r)
        for hands in by_image.values():
            for r in hands:
                r.fields.other_polygons = [p for o in hands if o is not r for p in o.fields.polygons]

    def _load(self, r: CocoHand[_GraspFields]) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        mask = polygons_to_mask(r.fields.polygons, h, w)
        if r.fields.bbox_xywh is not None:
            x, y, bw, bh = (float(v) for v in r.fields.bbox_xywh)
            box = np.array([x, y, x + bw, y + bh])
        else:
            box = box_from_mask(mask)
            if box is None:
                raise DatasetFormatError(f"{r.frame_id}: empty mask and no bbox")
        ignore = polygons_to_mask(r.fields.other_polygons, h, w) & (1 - mask)
        return assumed_intrinsics_sample(
            image,
            self.focal_over_width,
            box,
            r.is_right,
            self.name,
            r.frame_id,
            mask=mask,
            mask_ignore=ignore,
            grasp_label=r.fields.grasp,
        )
