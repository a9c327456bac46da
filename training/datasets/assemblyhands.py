"""AssemblyHands (Ohkawa et al., CVPR 2023), egocentric rectified frames: 3D joints of both hands.

Release v1-1, laid out as the official toolkit reads it (facebookresearch/assemblyhands-toolkit,
``src/dataset/AssemblyHands-Ego/dataset.py``)::

    <root>/annotations/<split>/assemblyhands_<split>_ego_data_v1-1.json
        {"images": [{"id", "file_name", "width", "height", "seq_name", "camera", "frame_idx": int}],
         "annotations": [{"id", "image_id", "joint_valid": (42,) 0/1,
                          "bbox": {"right": [x0, y0, x1, y1] | None, "left": ... }}]}
    <root>/annotations/<split>/assemblyhands_<split>_ego_calib_v1-1.json
        {"calibration": {<seq_name>: {"intrinsics": {"<camera>_mono10bit": (3, 3) pixels},
                                       "extrinsics": {"%06d" % frame_idx: {"<camera>_mono10bit": (3, 4)
                                                      [R | t] world → camera, t in mm}}}}}
    <root>/annotations/<split>/assemblyhands_<split>_joint_3d_v1-1.json
        {"annotations": {<seq_name>: {"%06d" % frame_idx: {"world_coord": (42, 3) mm, world frame}}}}
    <root>/images/<file_name>        file_name carries ego_images_rectified/<split>/<seq>/<camera>/...

Fields read: the image entries' ``file_name``, ``seq_name``, ``camera``, ``frame_idx``; the annotations'
``image_id``, ``joint_valid``, ``bbox`` (a side with bbox None is absent, as in the toolkit); the calibration;
``world_coord``. Joint order: InterHand2.6M's per hand (thumb tip → base, index, middle, ring, pinky, then the
wrist), right hand 0-20 then left 21-41; converted to MANO21 (``base.INTERHAND_TO_MANO21``) and to metres in
the camera frame (X_cam = R X_world + t). One sample per hand with at least ``min_valid_joints`` valid joints
(the toolkit's 10); invalid joints are zero in ``joints_cam_m`` and ``False`` in ``extra["joints3d_valid"]``.
The box is the tight box of the projected valid joints (``box_pad`` per side, 0 = none); the authors crop
AssemblyHands at 1.75x that box (``EVAL_CROP_SCALE``), not 1.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DatasetFileError,
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
from wildhands_core.handedness import Handedness

VERSION = "v1-1"
CAMERA_SUFFIX = "_mono10bit"
MIN_VALID_JOINTS = 10  # the toolkit drops a hand with fewer valid joints
EVAL_CROP_SCALE = 1.75  # the authors' AssemblyHands crop scale


def assemblyhands_files(root: Path, split: str) -> dict[str, Path]:
    """The three annotation files of ``split``: {"data", "calib", "joints"}."""
    d = root / "annotations" / split
    return {
        k: d / f"assemblyhands_{split}_{n}_{VERSION}.json"
        for k, n in (("data", "ego_data"), ("calib", "ego_calib"), ("joints", "joint_3d"))
    }


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
    eval_crop_scale = EVAL_CROP_SCALE

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        min_valid_joints: int = MIN_VALID_JOINTS,
        box_pad: float = 0.0,
        frame_stride: int = 1,
    ) -> None:
        super().__init__(root)
        self.split = split
        self.box_pad = box_pad
        files = assemblyhands_files(self.root, split)
        for p in files.values():  # all three before parsing any (they are large)
            if not p.is_file():
                raise DatasetFileError(f"AssemblyHands {VERSION}: annotation file not found: {p}")
        data = read_json(files["data"])
        require_keys(data, ("images", "annotations"), files["data"])
        calib = read_json(files["calib"])
        require_keys(calib, ("calibration",), files["calib"])
        calib = calib["calibration"]
        joints_doc = read_json(files["joints"])
        require_keys(joints_doc, ("annotations",), files["joints"])
        joints = joints_doc["annotations"]
        images = {}
        for img in data["images"]:
            require_keys(
                img, ("id", "file_name", "seq_name", "camera", "frame_idx"), f"{files['data']} image entry"
            )
            images[img["id"]] = img
        for ann in data["annotations"][::frame_stride]:
            where = f"{files['data']} annotation {ann.get('id')}"
            require_keys(ann, ("image_id", "joint_valid", "bbox"), where)
            img = images.get(ann["image_id"])
            if img is None:
                raise DatasetFormatError(f"{where}: unknown image_id {ann['image_id']}")
            seq, cam, frame = (
                str(img["seq_name"]),
                img["camera"] + CAMERA_SUFFIX,
                f"{int(img['frame_idx']):06d}",
            )
            try:
                K = np.asarray(calib[seq]["intrinsics"][cam], dtype=np.float64).reshape(3, 3)
                Rt = np.asarray(calib[seq]["extrinsics"][frame][cam], dtype=np.float64).reshape(3, 4)
            except KeyError as e:
                raise DatasetFormatError(
                    f"{files['calib']}: no calibration['{seq}'][intrinsics|extrinsics['{frame}']]['{cam}'] "
                    f"(missing {e})"
                ) from None
            try:
                world_mm = np.asarray(joints[seq][frame]["world_coord"], dtype=np.float64).reshape(
                    2 * NUM_JOINTS, 3
                )
            except KeyError as e:
                raise DatasetFormatError(
                    f"{files['joints']}: no annotations['{seq}']['{frame}']['world_coord'] (missing {e})"
                ) from None
            valid_all = np.asarray(ann["joint_valid"], dtype=np.float64).reshape(2 * NUM_JOINTS) > 0.5
            cam_m = (world_mm @ Rt[:, :3].T + Rt[:, 3]) / 1000.0
            boxes = ann["bbox"] or {}
            for is_right, sl in ((True, slice(0, NUM_JOINTS)), (False, slice(NUM_JOINTS, 2 * NUM_JOINTS))):
                side = Handedness.of(is_right).label
                if boxes.get(side) is None:
                    continue
                valid = interhand_to_mano21(valid_all[sl])
                if valid.sum() < min_valid_joints:
                    continue
                self._records.append(
                    _AHRecord(
                        self.root / "images" / img["file_name"],
                        f"{img['file_name']}/{side}",
                        is_right,
                        interhand_to_mano21(cam_m[sl]) * valid[:, None],
                        valid,
                        K,
                    )
                )

    def _load(self, r: _AHRecord) -> HandSample:
        image = load_rgb(r.image_path)
        return pinhole_joints_sample(
            image, r.K_px, r.joints_cam_m, r.joints_valid, self.box_pad, r.is_right, self.name, r.frame_id
        )
