"""EPIC-Kitchens VISOR (Darkhalil et al., NeurIPS 2022 D&B): hand masks (and grasp classes), no 3D.

Three sources (``source``):

- ``"gt_polygons"`` (default): VISOR's sparse ground truth (release ``GroundTruth-SparseAnnotations``, fields
  read: ``video_annotations[].image.{name, video}``, ``annotations[].{name, segments, in_contact_object}``);
- ``"authors_seg"``: what the WildHands authors train the mask loss on (ap229997/hands, ``$DATA_DIR/
  epic_hands/``): predicted masks ``visor_pred_masks_train.npz`` (red 255 = right, 127 = left), boxes from
  ``grasp_visor_train.pkl``, the mask kept only for hands labelled unoccluded in ``modal_amodal_annot.pkl``
  (1 = unoccluded), on the images present in all three files;
- ``"authors_grasp"``: every hand of ``grasp_visor_train.pkl`` with its box and grasp class (None = 8, no
  grasp): VISOR has no grasp labels of its own, the authors' come from this file.

``grasp_pickle`` attaches the authors' grasp classes to the ground-truth hands too (matched by the image file
name). VISOR has no intrinsics: K assumes focal 1000 px at 1920 wide, the authors' assumption (88° horizontal
field of view; ``focal_over_width``), principal point at the centre. Authors' files (``<root>/epic_hands/``)::

    grasp_visor_train.pkl       {image name: {"right_bbox", "left_bbox": [x0, y0, x1, y1] | None,
                                              "right_grasp", "left_grasp": name | None}}
    visor_pred_masks_train.npz  {image name: (H, W, 3) uint8}
    modal_amodal_annot.pkl      {image name: {"left", "right": 0 occluded | 1 unoccluded}}
    <image_root>/<image name>   (``image_root`` defaults to ``<root>``)

Ground-truth layout (``<root>`` = the release's ``GroundTruth-SparseAnnotations`` directory, frame zips
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
point at the image centre. ``extra["in_contact_object"]`` keeps VISOR's
contact field when present. ``mask_ignore`` is the union of every OTHER entity's polygons in the frame (the
other hand, objects, gloves, ...) minus this hand's mask: a visible-mask annotation says nothing about
whether the hand lies behind another segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.authors_files import (
    AuthorsHand,
    authors_grasp_class,
    authors_hand_sample,
    authors_hands,
    open_pred_masks,
    read_grasp_pickle,
    read_pickle,
)
from training.datasets.base import (
    DatasetFileError,
    DatasetFormatError,
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
SOURCES = ("gt_polygons", "authors_seg", "authors_grasp")
#: The authors' EPIC assumption: focal 1000 px for 1920-pixel-wide frames.
EPIC_FOCAL_OVER_WIDTH = 1000.0 / 1920.0
AUTHORS_GRASP_PICKLE = "epic_hands/grasp_visor_train.pkl"
AUTHORS_MASKS_NPZ = "epic_hands/visor_pred_masks_train.npz"
AUTHORS_MODAL_PICKLE = "epic_hands/modal_amodal_annot.pkl"


@dataclass
class _VisorRecord:
    image_path: Path
    frame_id: str
    is_right: bool
    segments: list
    in_contact_object: object
    other_segments: list  # polygons of every other entity of the frame
    grasp: int | None = None


class EpicVisorDataset(HandDataset):
    """VISOR sparse frames, one ``HandSample`` per annotated hand (mask, box, assumed K)."""

    name = "epic_visor"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        annotation_wh: tuple[int, int] = (1920, 1080),
        focal_over_width: float = EPIC_FOCAL_OVER_WIDTH,
        videos: list[str] | None = None,
        source: str = "gt_polygons",
        grasp_pickle: str | Path | None = None,
        image_root: str | Path | None = None,
        path_prefix: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(root)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        self.source = source
        self.annotation_wh = annotation_wh
        self.focal_over_width = focal_over_width
        self._masks = None
        if source != "gt_polygons":
            self._init_authors(source, Path(image_root) if image_root else self.root, path_prefix)
            return
        grasps = self._grasps_by_file_name(Path(grasp_pickle)) if grasp_pickle else None
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
                            None if grasps is None else grasps.get((name, HAND_NAMES[label])),
                        )
                    )

    def _init_authors(self, source: str, image_root: Path, path_prefix: tuple[str, str] | None) -> None:
        pkl = self.root / AUTHORS_GRASP_PICKLE
        data = read_grasp_pickle(pkl)
        if source == "authors_grasp":
            self._records = authors_hands(pkl, data, image_root, path_prefix=path_prefix)
            return
        self._masks = open_pred_masks(self.root / AUTHORS_MASKS_NPZ)
        modal = read_pickle(self.root / AUTHORS_MODAL_PICKLE)
        if not isinstance(modal, dict):
            raise DatasetFormatError(
                f"{self.root / AUTHORS_MODAL_PICKLE}: expected a dict {{image: {{side: 0|1}}}}")
        mask_names = set(self._masks.files)
        names = [n for n in data if n in mask_names and n in modal]
        self._records = authors_hands(pkl, data, image_root, names, mask_names, modal, grasp=False,
                                      path_prefix=path_prefix)

    @staticmethod
    def _grasps_by_file_name(path: Path) -> dict[tuple[str, bool], int]:
        """{(image file name, is_right): grasp class} of an authors' grasp pickle."""
        out = {}
        for name, entry in read_grasp_pickle(path).items():
            for is_right, side in ((True, "right"), (False, "left")):
                if entry.get(f"{side}_bbox") is not None:
                    out[(Path(str(name)).name, is_right)] = authors_grasp_class(
                        entry.get(f"{side}_grasp"), f"{path} entry {name!r} {side}_grasp")
        return out

    def _load(self, r: _VisorRecord | AuthorsHand) -> HandSample:
        if isinstance(r, AuthorsHand):
            return authors_hand_sample(r, self._masks, self.root / AUTHORS_MASKS_NPZ, self.focal_over_width,
                                       self.name)
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
            mask_ignore=ignore, grasp_label=r.grasp,
        )
