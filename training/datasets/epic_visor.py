"""EPIC-Kitchens VISOR (Darkhalil et al., NeurIPS 2022 D&B) sparse ground truth: hand masks, no 3D.

Expected layout (``<root>`` = the release's ``GroundTruth-SparseAnnotations`` directory, frame zips
extracted in place)::

    <root>/annotations/<split>/<video>.json
        {"video_annotations": [{"image": {"name": "P01_01_frame_0000000140.jpg", "video": "P01_01", ...},
                                "annotations": [{"name": "left hand" | "right hand" | <object>,
                                                 "segments": [[[x, y], ...], ...],   # polygons
                                                 "in_contact_object": ..., ...}]}]}
    <root>/rgb_frames/<split>/<participant>/<video>/<image name>

Polygon coordinates are in the annotation resolution ``annotation_wh`` (1920x1080, VISOR's native
resolution) and are scaled to the size of the image read from disk (e.g. 854x480 copies). One sample per
"left hand" / "right hand" entity with a polygon of ≥ 3 points; ``mask`` is the union of its polygons, the box
is the mask's extent. VISOR has no intrinsics: K assumes focal ``focal_over_width`` × width and the principal
point at the image centre (``base.DEFAULT_FOCAL_OVER_WIDTH``). ``extra["in_contact_object"]`` keeps VISOR's
contact field when present. ``mask_ignore`` is the union of every OTHER entity's polygons in the frame (the
other hand, objects, gloves, ...) minus this hand's mask: a visible-mask annotation says nothing about
whether the hand lies behind another segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DEFAULT_FOCAL_OVER_WIDTH,
    DatasetFileError,
    HandDataset,
    assumed_intrinsics_sample,
    box_from_mask,
    load_rgb,
    polygons_to_mask,
    read_json,
    require_keys,
)
from training.sample import HandSample

HAND_NAMES = {"left hand": False, "right hand": True}


@dataclass
class _VisorRecord:
    image_path: Path
    frame_id: str
    is_right: bool
    segments: list
    in_contact_object: object
    other_segments: list  # polygons of every other entity of the frame


class EpicVisorDataset(HandDataset):
    """VISOR sparse frames, one ``HandSample`` per annotated hand (mask, box, assumed K)."""

    name = "epic_visor"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        annotation_wh: tuple[int, int] = (1920, 1080),
        focal_over_width: float = DEFAULT_FOCAL_OVER_WIDTH,
        videos: list[str] | None = None,
    ) -> None:
        super().__init__(root)
        self.annotation_wh = annotation_wh
        self.focal_over_width = focal_over_width
        ann_dir = self.root / "annotations" / split
        files = [ann_dir / f"{v}.json" for v in videos] if videos else sorted(ann_dir.glob("*.json"))
        if not files:
            raise DatasetFileError(f"VISOR: no annotation JSON in {ann_dir}")
        for path in files:
            data = read_json(path)
            require_keys(data, ("video_annotations",), path)
            for entry in data["video_annotations"]:
                require_keys(entry, ("image", "annotations"), path)
                name = entry["image"]["name"]
                video = entry["image"].get("video", path.stem)
                participant = video.split("_")[0]
                image_path = self.root / "rgb_frames" / split / participant / video / name
                anns = entry["annotations"]
                polys = [
                    [s for s in ann.get("segments", []) if len(np.asarray(s).reshape(-1, 2)) >= 3]
                    for ann in anns
                ]
                for k, ann in enumerate(anns):
                    label = str(ann.get("name", "")).strip().lower()
                    if label not in HAND_NAMES or not polys[k]:
                        continue
                    others = [s for j, segs in enumerate(polys) if j != k for s in segs]
                    self._records.append(
                        _VisorRecord(
                            image_path,
                            f"{video}/{name}/{label}",
                            HAND_NAMES[label],
                            polys[k],
                            ann.get("in_contact_object"),
                            others,
                        )
                    )

    def _load(self, r: _VisorRecord) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        scale = (w / self.annotation_wh[0], h / self.annotation_wh[1])
        mask = polygons_to_mask(r.segments, h, w, scale)
        box = box_from_mask(mask)
        if box is None:  # polygon collapsed below one pixel after scaling
            pts = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in r.segments]) * scale
            box = np.concatenate([pts.min(axis=0), pts.max(axis=0)])
        extra = {} if r.in_contact_object is None else {"in_contact_object": r.in_contact_object}
        ignore = polygons_to_mask(r.other_segments, h, w, scale) & (1 - mask)
        return assumed_intrinsics_sample(
            image, self.focal_over_width, box, r.is_right, self.name, r.frame_id, extra, mask=mask,
            mask_ignore=ignore,
        )
