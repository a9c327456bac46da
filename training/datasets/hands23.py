"""Hands23 (Cheng et al., NeurIPS 2023) in the COCO form its own converter writes (``ddshan/hands23_data``,
``data_prep/gen_coco_format.py``): hand masks, boxes and grasp classes, no 3D. The second source of
Ego4D-style
grasp training data next to the authors' ``grasp_ego.pkl`` (``training.datasets.ego4d_grasp``).

Expected layout (the converter's output)::

    <root>/annotations/<split>.json
        {"images": [{"id", "file_name", "width", "height"}],
         "annotations": [{"id", "image_id", "category_id": 1 hand | 2 first object | 3 second object,
                          "bbox": [x, y, w, h] pixels, "segmentation": [[x0, y0, x1, y1, ...], ...],
                          "handside": 0 left | 1 right, "grasptype": int (below), ...}]}
    <images_dir>/<file_name>                     ``images_dir`` defaults to ``<root>/<split>``

Fields read: ``category_id``, ``handside``, ``grasptype``, ``bbox``, ``segmentation``. Hands23's grasp
integers
(-1 None, 0 NP-Palm, 1 NP-Fin, 2 Pow-Pris, 3 Pre-Pris, 4 Pow-Circ, 5 Pre-Circ, 6 Exten, 7 Later, 8 Other)
map to the head's classes (``GRASP_CLASS_NAMES``): -1 → 8 "no grasp", 7 → 6, 8 → 7. ``Exten`` has no class in
the WildHands head: such a hand keeps its mask but no grasp label (``exten_as="other"`` maps it to Other);
``exten_hands`` counts them. ``mask_ignore`` = the union of the image's other annotations (hands and objects)
minus this hand. No intrinsics: K as ``ego4d_grasp`` (f = max(W, H) / 2 unless ``focal_over_width``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DatasetFormatError,
    HandDataset,
    assumed_intrinsics_sample,
    coco_images,
    load_rgb,
    polygons_to_mask,
    read_json,
    require_keys,
)
from training.datasets.ego4d_grasp import half_max_side_focal_over_width
from training.sample import HandSample

HAND_CATEGORY = 1
EXTEN = 6
#: Hands23 grasptype → WildHands head class (None = unlabelled).
HANDS23_TO_HEAD: dict[int, int | None] = {-1: 8, 0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: None, 7: 6, 8: 7}


@dataclass
class _H23Record:
    image_path: Path
    frame_id: str
    is_right: bool
    box_xyxy_px: np.ndarray
    polygons: list
    grasp: int | None
    other_polygons: list = field(default_factory=list)


class Hands23Dataset(HandDataset):
    """Hands23 COCO hands: one ``HandSample`` per hand annotation (mask, box, grasp class, assumed K)."""

    name = "hands23"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        images_dir: str | Path | None = None,
        exten_as: str | None = None,
        focal_over_width: float | None = None,
    ) -> None:
        super().__init__(root)
        if exten_as not in (None, "other"):
            raise ValueError(f"exten_as must be None or 'other', got {exten_as!r}")
        self.focal_over_width = focal_over_width
        img_dir = Path(images_dir) if images_dir is not None else self.root / split
        path = self.root / "annotations" / f"{split}.json"
        data = read_json(path)
        images = coco_images(data, path)
        self.exten_hands = 0
        by_image: dict[int, list] = {}
        for ann in data["annotations"]:
            where = f"{path} annotation {ann.get('id')}"
            require_keys(ann, ("image_id", "category_id", "segmentation"), where)
            by_image.setdefault(ann["image_id"], []).append(ann)
        for image_id, anns in by_image.items():
            img = images.get(image_id)
            if img is None:
                raise DatasetFormatError(
                    f"{path}: annotation {anns[0].get('id')} names unknown image {image_id}"
                )
            for ann in anns:
                if ann["category_id"] != HAND_CATEGORY:
                    continue
                where = f"{path} annotation {ann.get('id')}"
                require_keys(ann, ("handside", "grasptype", "bbox"), where)
                if ann["handside"] not in (0, 1):
                    raise DatasetFormatError(
                        f"{where}: handside must be 0 (left) or 1 (right), got {ann['handside']!r}"
                    )
                g = ann["grasptype"]
                if g not in HANDS23_TO_HEAD:
                    raise DatasetFormatError(f"{where}: unknown grasptype {g!r} (Hands23 uses -1..8)")
                grasp = HANDS23_TO_HEAD[g]
                if g == EXTEN:
                    self.exten_hands += 1
                    grasp = 7 if exten_as == "other" else None
                x, y, bw, bh = (float(v) for v in ann["bbox"])
                others = [p for o in anns if o is not ann for p in (o["segmentation"] or [])]
                self._records.append(
                    _H23Record(
                        img_dir / img["file_name"],
                        f"{img['file_name']}/{ann.get('id')}",
                        ann["handside"] == 1,
                        np.array([x, y, x + bw, y + bh]),
                        list(ann["segmentation"] or []),
                        grasp,
                        others,
                    )
                )

    def _load(self, r: _H23Record) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        mask = polygons_to_mask(r.polygons, h, w) if r.polygons else None
        ignore = None if mask is None else polygons_to_mask(r.other_polygons, h, w) & (1 - mask)
        f = (
            self.focal_over_width
            if self.focal_over_width is not None
            else half_max_side_focal_over_width(w, h)
        )
        return assumed_intrinsics_sample(
            image,
            f,
            r.box_xyxy_px.copy(),
            r.is_right,
            self.name,
            r.frame_id,
            mask=mask,
            mask_ignore=ignore,
            grasp_label=r.grasp,
        )
