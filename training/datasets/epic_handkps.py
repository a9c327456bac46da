"""Epic-HandKps (the WildHands paper's 2D hand keypoints on EPIC-Kitchens frames): 2D keypoints only.

The release format was not available when this adapter was written: the layout below is an ASSUMED
COCO-keypoints-style JSON (fields marked * are assumptions); convert the release into it if it differs::

    <root>/annotations/<split>.json
        {"images": [{"id", "file_name", "width", "height"}],
         "annotations": [{"id", "image_id",
                          "hand_side"*: "left" | "right",
                          "keypoints"*: [x0, y0, v0, ..., x20, y20, v20]   pixels of the image on disk,
                                        OpenPose order (wrist, thumb, index, middle, ring, pinky, base → tip),
                                        v > 0 = annotated}]}
    <root>/images/<file_name>

Keypoints are converted to MANO21. A hand needs ≥ ``min_valid_joints`` annotated keypoints. The box is the
tight box of the valid keypoints grown by ``box_pad`` per side. No intrinsics: K assumes focal
``focal_over_width`` × width (``base.DEFAULT_FOCAL_OVER_WIDTH``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DEFAULT_FOCAL_OVER_WIDTH,
    DatasetFormatError,
    HandDataset,
    box_from_keypoints,
    coco_images,
    default_intrinsics,
    load_rgb,
    openpose_to_mano21,
    read_json,
    require_keys,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_JOINTS


@dataclass
class _KpsRecord:
    image_path: Path
    frame_id: str
    is_right: bool
    keypoints_px: np.ndarray  # (21, 2) MANO21
    valid: np.ndarray  # (21,)


class EpicHandKpsDataset(HandDataset):
    """Epic-HandKps: one ``HandSample`` per hand with 2D keypoints, validity, box and assumed K."""

    name = "epic_handkps"

    def __init__(
        self,
        root: str | Path,
        split: str = "test",
        min_valid_joints: int = 3,
        box_pad: float = 0.1,
        focal_over_width: float = DEFAULT_FOCAL_OVER_WIDTH,
    ) -> None:
        super().__init__(root)
        self.box_pad = box_pad
        self.focal_over_width = focal_over_width
        path = self.root / "annotations" / f"{split}.json"
        data = read_json(path)
        images = coco_images(data, path)
        for ann in data["annotations"]:
            where = f"{path} annotation {ann.get('id')}"
            require_keys(ann, ("image_id", "hand_side", "keypoints"), where)
            kp = np.asarray(ann["keypoints"], dtype=np.float64)
            if kp.size != 3 * NUM_JOINTS:
                raise DatasetFormatError(f"{where}: expected {3 * NUM_JOINTS} keypoint values, got {kp.size}")
            kp = openpose_to_mano21(kp.reshape(NUM_JOINTS, 3))
            valid = kp[:, 2] > 0
            if valid.sum() < min_valid_joints:
                continue
            img = images.get(ann["image_id"])
            if img is None:
                raise DatasetFormatError(f"{where}: unknown image_id {ann['image_id']}")
            side = str(ann["hand_side"]).lower()
            if side not in ("left", "right"):
                raise DatasetFormatError(
                    f"{where}: hand_side must be 'left' or 'right', got {ann['hand_side']!r}"
                )
            self._records.append(
                _KpsRecord(
                    self.root / "images" / img["file_name"],
                    f"{img['file_name']}/{ann.get('id')}",
                    side == "right",
                    kp[:, :2] * valid[:, None],
                    valid,
                )
            )

    def _load(self, r: _KpsRecord) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        box = box_from_keypoints(r.keypoints_px, r.valid, self.box_pad, (w, h))
        return HandSample(
            image=image,
            K_px=default_intrinsics(w, h, self.focal_over_width),
            box_xyxy_px=box,
            is_right=r.is_right,
            dataset=self.name,
            frame_id=r.frame_id,
            keypoints_px=r.keypoints_px.copy(),
            keypoints_valid=r.valid.copy(),
            extra={"K_assumed": True},
        )
