"""The layout this project ASSUMED before issue #17 (kept to check that the adapter now rejects it):
writes a tiny AssemblyHands split ("test", 2 ego frames, 64x48 JPEGs) in the layout of
``training.datasets.assemblyhands``; returns the values written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_assemblyhands import AH_K, AH_RT, AH_SEQ
from fixtures_assemblyhands import ah_world_coord_mm as ah_keypoints_world_mm  # the same joints
from fixtures_common import write_image

AH_CAM = "HMC_21110305_mono10bit"


def write_assemblyhands(root: Path, split: str = "test") -> dict:
    """Image 0: both hands valid; image 1: right hand with joints 0 and 5 invalid, left hand all invalid."""
    kp = ah_keypoints_world_mm()
    valid0 = np.ones(42)
    valid1 = np.ones(42)
    valid1[[0, 5]] = 0
    valid1[21:] = 0
    images, anns = [], []
    for i, valid in enumerate((valid0, valid1)):
        name = f"{AH_SEQ}/{AH_CAM}/{i:06d}.jpg"
        images.append(
            {
                "id": 100 + i,
                "file_name": name,
                "width": 64,
                "height": 48,
                "seq_name": AH_SEQ,
                "camera": AH_CAM,
                "frame_idx": 30 * i,
            }
        )
        anns.append(
            {
                "id": 200 + i,
                "image_id": 100 + i,
                "keypoints": (kp * valid[:, None]).tolist(),
                "joint_valid": valid.tolist(),
            }
        )
        write_image(root / "images" / "ego_images_rectified" / split / name, 64, 48, (10, 20, 250))
    ann_dir = root / "annotations" / split
    ann_dir.mkdir(parents=True)
    (ann_dir / f"assemblyhands_{split}_ego_data_v1-1.json").write_text(
        json.dumps({"info": {}, "images": images, "annotations": anns})
    )
    calib = {
        "calibration": {
            AH_SEQ: {
                "intrinsics": {AH_CAM: AH_K.tolist()},
                "extrinsics": {str(30 * i): {AH_CAM: AH_RT.tolist()} for i in range(2)},
            }
        }
    }
    (ann_dir / f"assemblyhands_{split}_ego_calib_v1-1.json").write_text(json.dumps(calib))
    return {"keypoints_world_mm": kp, "valid": [valid0, valid1]}
