"""Epic-HandKps (the WildHands paper's 2D hand keypoints on EPIC-KITCHENS frames): 2D keypoints only.

Released by the authors as ``epic_hands/hands_5000.pkl`` (ap229997/hands; ``hands_250.pkl`` is the small
validation set, same format)::

    <root>/epic_hands/hands_5000.pkl
        {image name: {"right" / "left" (absent: no hand): {
            "joints": (21, 2) pixels of the 1920x1080 frame,
            "joints_valid": (21,) 0/1,
            "bbox": the hand's box (covers the arm; in ``extra["release_bbox"]``, not used for the crop)}}}
    <image_root>/<image name>       the EPIC-KITCHENS frames (``image_root`` defaults to ``<root>``)

Fields read: ``joints``, ``joints_valid``, ``bbox``. Joint order is AssemblyHands / InterHand2.6M's (thumb
tip →
base, index, middle, ring, pinky, then the wrist), re-ordered to MANO21 here as the authors do; read in
OpenPose order, 16 of the 21 joints would be wrong. Keypoints are scaled from ``annotation_wh`` (1920x1080) to
the image read from disk. A hand needs ≥ ``min_valid_joints`` valid joints (4: the paper scores a hand with
more than 3 visible joints). The box is the tight box of the valid keypoints (``box_pad`` per side, 0 = none).
No intrinsics: K assumes focal 1000 px at 1920 wide (the authors' EPIC assumption; ``focal_over_width``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.authors_files import read_pickle, resolve_image
from training.datasets.base import (
    DatasetFormatError,
    HandDataset,
    assumed_intrinsics_sample,
    box_from_keypoints,
    interhand_to_mano21,
    load_rgb,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_JOINTS

HANDKPS_PICKLE = "epic_hands/hands_5000.pkl"
#: The authors' EPIC assumption: focal 1000 px for 1920-pixel-wide frames (88.3° horizontal field of view).
EPIC_FOCAL_OVER_WIDTH = 1000.0 / 1920.0
EPIC_WH = (1920, 1080)


@dataclass
class _KpsRecord:
    image_path: Path
    frame_id: str
    is_right: bool
    keypoints_px: np.ndarray  # (21, 2) MANO21, pixels of annotation_wh, 0 where invalid
    valid: np.ndarray  # (21,) bool
    release_bbox: object


class EpicHandKpsDataset(HandDataset):
    """Epic-HandKps: one ``HandSample`` per hand with 2D keypoints, validity, box and assumed K."""

    name = "epic_handkps"

    def __init__(
        self,
        root: str | Path,
        pickle_path: str | Path | None = None,
        image_root: str | Path | None = None,
        min_valid_joints: int = 4,
        box_pad: float = 0.0,
        focal_over_width: float = EPIC_FOCAL_OVER_WIDTH,
        annotation_wh: tuple[int, int] = EPIC_WH,
        path_prefix: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(root)
        self.box_pad = box_pad
        self.focal_over_width = focal_over_width
        self.annotation_wh = tuple(annotation_wh)
        path = Path(pickle_path) if pickle_path is not None else self.root / HANDKPS_PICKLE
        data = read_pickle(path)
        if not isinstance(data, dict) or not data:
            raise DatasetFormatError(
                f"{path}: expected a non-empty dict {{image name: {{'right'/'left': ...}}}}"
            )
        img_root = Path(image_root) if image_root is not None else self.root
        prefix = tuple(path_prefix) if path_prefix else None
        for name, hands in data.items():
            if not isinstance(hands, dict):
                raise DatasetFormatError(
                    f"{path}: entry {name!r} is a {type(hands).__name__}, expected a dict"
                )
            for side in ("right", "left"):
                hand = hands.get(side)
                if hand is None:
                    continue
                where = f"{path} entry {name!r} '{side}'"
                for key in ("joints", "joints_valid"):
                    if key not in hand:
                        raise DatasetFormatError(f"{where}: missing key {key!r}")
                kp = np.asarray(hand["joints"], dtype=np.float64)
                valid = np.asarray(hand["joints_valid"], dtype=np.float64).reshape(-1) > 0.5
                if kp.shape != (NUM_JOINTS, 2) or valid.shape != (NUM_JOINTS,):
                    raise DatasetFormatError(
                        f"{where}: expected joints (21, 2) and joints_valid (21,), got "
                        f"{kp.shape} and {valid.shape}"
                    )
                kp, valid = interhand_to_mano21(kp), interhand_to_mano21(valid)
                if valid.sum() < min_valid_joints:
                    continue
                self._records.append(
                    _KpsRecord(
                        resolve_image(str(name), img_root, prefix),
                        f"{name}/{side}",
                        side == "right",
                        kp * valid[:, None],
                        valid,
                        hand.get("bbox"),
                    )
                )

    def _load(self, r: _KpsRecord) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        kp = r.keypoints_px * np.array([w / self.annotation_wh[0], h / self.annotation_wh[1]])
        box = box_from_keypoints(kp, r.valid, self.box_pad, (w, h))
        extra = {} if r.release_bbox is None else {"release_bbox": np.asarray(r.release_bbox, np.float64)}
        return assumed_intrinsics_sample(
            image,
            self.focal_over_width,
            box,
            r.is_right,
            self.name,
            r.frame_id,
            extra,
            keypoints_px=kp,
            keypoints_valid=r.valid.copy(),
        )
