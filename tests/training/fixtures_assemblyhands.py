"""Writes a tiny AssemblyHands v1-1 split ("test", 2 ego frames, 64x48 JPEGs) in the release's layout as
the official toolkit reads it (reference/datasets.md): joints in the separate ``*_joint_3d_v1-1.json`` at
``annotations[seq]["%06d"]["world_coord"]`` (42x3 mm, InterHand order, right 0-20 then left 21-41),
calibration keyed by ``<camera>_mono10bit`` and the 6-digit frame id, images at ``images/<file_name>`` where
``file_name`` starts with ``ego_images_rectified/<split>/``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_common import write_image

AH_SEQ = "nusar-2021_action_both_9081-c11b_9081_user_id_2021-02-12_161433"
AH_CAM = "HMC_21110305"  # the image entry's camera; the calibration key is AH_CAM + "_mono10bit"
AH_K = np.array([[40.0, 0.0, 32.0], [0.0, 40.0, 24.0], [0.0, 0.0, 1.0]])
#: world → camera: 90° about z ((x, y, z) → (−y, x, z)), then 500 mm along z.
AH_RT = np.array([[0.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 500.0]])
AH_FRAMES = (30, 1230)  # frame_idx of the two images: "000030", "001230"


def ah_world_coord_mm() -> np.ndarray:
    """(42, 3) mm, InterHand order per hand, right then left: right joint k at (10k − 100, 5k, 0);
    left = right shifted by (0, −60, 50)."""
    k = np.arange(21.0)
    right = np.stack([10 * k - 100, 5 * k, np.zeros(21)], axis=1)
    return np.concatenate([right, right + np.array([0.0, -60.0, 50.0])])


def write_assemblyhands(root: Path, split: str = "test") -> dict:
    """Image 0: both hands valid; image 1: right hand with InterHand joints 0 and 5 invalid, left hand with
    bbox None (absent)."""
    world = ah_world_coord_mm()
    valid0 = np.ones(42)
    valid1 = np.ones(42)
    valid1[[0, 5]] = 0
    valid1[21:] = 0
    images, anns, joints = [], [], {AH_SEQ: {}}
    for i, (valid, frame) in enumerate(zip((valid0, valid1), AH_FRAMES, strict=True)):
        name = f"ego_images_rectified/{split}/{AH_SEQ}/{AH_CAM}/{frame:06d}.jpg"
        images.append(
            {
                "id": 100 + i,
                "file_name": name,
                "width": 64,
                "height": 48,
                "seq_name": AH_SEQ,
                "camera": AH_CAM,
                "frame_idx": frame,
            }
        )
        box = [20.0, 10.0, 40.0, 40.0]
        anns.append(
            {
                "id": 200 + i,
                "image_id": 100 + i,
                "joint_valid": valid.tolist(),
                "bbox": {"right": box, "left": box if i == 0 else None},
            }
        )
        joints[AH_SEQ][f"{frame:06d}"] = {"world_coord": world.tolist(), "joint_valid": valid.tolist()}
        write_image(root / "images" / name, 64, 48, (10, 20, 250))
    ann_dir = root / "annotations" / split
    ann_dir.mkdir(parents=True)
    (ann_dir / f"assemblyhands_{split}_ego_data_v1-1.json").write_text(
        json.dumps({"info": {}, "images": images, "annotations": anns})
    )
    cam = f"{AH_CAM}_mono10bit"
    calib = {
        "calibration": {
            AH_SEQ: {
                "intrinsics": {cam: AH_K.tolist()},
                "extrinsics": {f"{f:06d}": {cam: AH_RT.tolist()} for f in AH_FRAMES},
            }
        }
    }
    (ann_dir / f"assemblyhands_{split}_ego_calib_v1-1.json").write_text(json.dumps(calib))
    (ann_dir / f"assemblyhands_{split}_joint_3d_v1-1.json").write_text(json.dumps({"annotations": joints}))
    return {"world_coord_mm": world, "valid": [valid0, valid1]}
