"""The layout this project ASSUMED before issue #17 (kept to check that the adapter now rejects it):
writes a tiny AssemblyHands split ("test", 2 ego frames, 64x48 JPEGs) in the layout of
``training.datasets.assemblyhands``; returns the values written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_common import write_image

AH_SEQ = "nusar-2021_action_both_9081-c11b_9081_user_id_2021-02-12_161433"
AH_CAM = "HMC_21110305_mono10bit"
AH_K = np.array([[40.0, 0.0, 32.0], [0.0, 40.0, 24.0], [0.0, 0.0, 1.0]])
#: world → camera: 90° about z ((x, y, z) → (−y, x, z)), then 500 mm along z.
AH_RT = np.array([[0.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 500.0]])


def ah_keypoints_world_mm() -> np.ndarray:
    """(42, 3) mm, InterHand order per hand, right then left: right joint k at (10k − 100, 5k, 0);
    left = right shifted by (0, −60, 50)."""
    k = np.arange(21.0)
    right = np.stack([10 * k - 100, 5 * k, np.zeros(21)], axis=1)
    return np.concatenate([right, right + np.array([0.0, -60.0, 50.0])])


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
