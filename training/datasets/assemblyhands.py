"""AssemblyHands (Ohkawa et al., CVPR 2023), egocentric rectified frames: 3D joints of both hands.

Expected layout (release v1-1; where the release's exact keys were not certain, the assumed ones are
marked *)::

    <root>/annotations/<split>/assemblyhands_<split>_ego_data_v1-1.json
        {"images": [{"id", "file_name", "width", "height", "seq_name", "camera", "frame_idx"}],
         "annotations": [{"id", "image_id",
                          "keypoints": (42, 3) world coordinates in mm, right hand (0-20) then left (21-41)*,
                          "joint_valid": (42,) 0/1}]}
    <root>/annotations/<split>/assemblyhands_<split>_ego_calib_v1-1.json
        {"calibration": {<seq_name>: {"intrinsics": {<camera>: (3, 3) pixels},
                                       "extrinsics": {<frame_idx>*: {<camera>: (3, 4) [R | t] world → camera,
                                                                     t in mm}}}}}
    <root>/images/ego_images_rectified/<split>/<file_name>

Per-hand joint order (InterHand2.6M's): thumb tip → base, index, middle, ring, pinky, then the wrist;
converted to MANO21 (``base.INTERHAND_TO_MANO21``). Joints are converted to metres in the camera frame. One
sample per hand with at least ``min_valid_joints`` valid joints; invalid joints are zero in
``joints_cam_m`` and ``False`` in ``extra["joints3d_valid"]``. The box is the tight box of the projected valid
joints grown by ``box_pad`` on each side (the release's boxes are not read).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DatasetFormatError,
    HandDataset,
    interhand_to_mano21,
    load_rgb,
    pinhole_joints_sample,
    read_json,
    require_keys,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_JOINTS

VERSION = "v1-1"


@dataclass
class _AHRecord:
    image_path: Path
    frame_id: str
    is_right: bool
    joints_cam_m: np.ndarray  # (21, 3) MANO21
    joints_valid: np.ndarray  # (21,) bool
    K_px: np.ndarray


class AssemblyHandsDataset(HandDataset):
    """AssemblyHands egocentric frames, one ``HandSample`` per hand (3D joints, 2D keypoints, K, box)."""

    name = "assemblyhands"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        min_valid_joints: int = 3,
        box_pad: float = 0.1,
        frame_stride: int = 1,
    ) -> None:
        super().__init__(root)
        self.split = split
        self.box_pad = box_pad
        ann_dir = self.root / "annotations" / split
        data_path = ann_dir / f"assemblyhands_{split}_ego_data_{VERSION}.json"
        calib_path = ann_dir / f"assemblyhands_{split}_ego_calib_{VERSION}.json"
        data = read_json(data_path)
        calib_all = read_json(calib_path)
        require_keys(data, ("images", "annotations"), data_path)
        require_keys(calib_all, ("calibration",), calib_path)
        calib = calib_all["calibration"]
        images = {img["id"]: img for img in data["images"]}
        img_dir = self.root / "images" / "ego_images_rectified" / split
        for ann in data["annotations"][::frame_stride]:
            require_keys(
                ann, ("image_id", "keypoints", "joint_valid"), f"{data_path} annotation {ann.get('id')}"
            )
            img = images.get(ann["image_id"])
            if img is None:
                raise DatasetFormatError(
                    f"{data_path}: annotation {ann.get('id')} names unknown image {ann['image_id']}"
                )
            seq, cam, fidx = img["seq_name"], img["camera"], img["frame_idx"]
            try:
                K = np.asarray(calib[seq]["intrinsics"][cam], dtype=np.float64).reshape(3, 3)
                Rt = np.asarray(calib[seq]["extrinsics"][str(fidx)][cam], dtype=np.float64).reshape(3, 4)
            except KeyError as e:
                raise DatasetFormatError(f"{calib_path}: no calibration for {seq}/{fidx}/{cam} ({e})") from e
            kp_world_mm = np.asarray(ann["keypoints"], dtype=np.float64).reshape(2 * NUM_JOINTS, 3)
            valid_all = np.asarray(ann["joint_valid"], dtype=np.float64).reshape(2 * NUM_JOINTS) > 0.5
            cam_m = (kp_world_mm @ Rt[:, :3].T + Rt[:, 3]) / 1000.0
            for is_right, sl in ((True, slice(0, NUM_JOINTS)), (False, slice(NUM_JOINTS, 2 * NUM_JOINTS))):
                valid = interhand_to_mano21(valid_all[sl])
                if valid.sum() < min_valid_joints:
                    continue
                joints = interhand_to_mano21(cam_m[sl]) * valid[:, None]
                side = "right" if is_right else "left"
                self._records.append(
                    _AHRecord(
                        img_dir / img["file_name"], f"{img['file_name']}/{side}", is_right, joints, valid, K
                    )
                )

    def _load(self, r: _AHRecord) -> HandSample:
        image = load_rgb(r.image_path)
        return pinhole_joints_sample(
            image, r.K_px, r.joints_cam_m, r.joints_valid, self.box_pad, r.is_right, self.name, r.frame_id
        )
