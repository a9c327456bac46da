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
    CocoHand,
    DatasetFormatError,
    HandDataset,
    assumed_intrinsics_sample,
    box_from_keypoints,
    coco_hands,
    load_rgb,
    openpose_to_mano21,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_JOINTS


@dataclass
class _KpsFields:
    keypoints_px: np.ndarray  # (21, 2) MANO21, pixels, 0 where not annotated
    valid: np.ndarray  # (21,) bool


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

        def parse(ann: dict, where: str) -> _KpsFields | None:
            kp = np.asarray(ann["keypoints"], dtype=np.float64)
            if kp.size != 3 * NUM_JOINTS:
                raise DatasetFormatError(f"{where}: expected {3 * NUM_JOINTS} keypoint values, got {kp.size}")
            kp = openpose_to_mano21(kp.reshape(NUM_JOINTS, 3))
            valid = kp[:, 2] > 0
            return None if valid.sum() < min_valid_joints else _KpsFields(kp[:, :2] * valid[:, None], valid)

        self._records = coco_hands(self.root, split, ("keypoints",), parse)

    def _load(self, r: CocoHand[_KpsFields]) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        kp = r.fields
        box = box_from_keypoints(kp.keypoints_px, kp.valid, self.box_pad, (w, h))
        kps = {"keypoints_px": kp.keypoints_px.copy(), "keypoints_valid": kp.valid.copy()}
        return assumed_intrinsics_sample(
            image, self.focal_over_width, box, r.is_right, self.name, r.frame_id, **kps
        )
