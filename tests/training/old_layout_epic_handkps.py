"""The layout this project ASSUMED before issue #17 (kept to check that the adapter now rejects it):
writes a tiny Epic-HandKps split ("test", 1 image of 64x48) in the assumed COCO-keypoints layout of
``training.datasets.epic_handkps``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_common import write_image


def handkps_openpose_px() -> np.ndarray:
    """(21, 2) pixels, OpenPose order: joint k at (10 + k, 8 + 2k)."""
    k = np.arange(21.0)
    return np.stack([10 + k, 8 + 2 * k], axis=1)


def write_epic_handkps(root: Path) -> dict:
    """One right hand with OpenPose joints 19 and 20 unannotated (v = 0), and one left hand with only 2
    annotated joints (dropped by the adapter's 3-joint minimum)."""
    kp = handkps_openpose_px()
    vis = np.ones(21)
    vis[[19, 20]] = 0
    right = np.concatenate([kp, vis[:, None]], axis=1).reshape(-1).tolist()
    vis2 = np.zeros(21)
    vis2[:2] = 1
    left = np.concatenate([kp, vis2[:, None]], axis=1).reshape(-1).tolist()
    images = [{"id": 7, "file_name": "P30_107/frame_0000012345.jpg", "width": 64, "height": 48}]
    anns = [
        {"id": 1, "image_id": 7, "hand_side": "right", "keypoints": right},
        {"id": 2, "image_id": 7, "hand_side": "left", "keypoints": left},
    ]
    write_image(root / "images" / images[0]["file_name"], 64, 48, (5, 5, 5))
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "test.json").write_text(json.dumps({"images": images, "annotations": anns}))
    return {"keypoints_openpose_px": kp, "visible_openpose": vis.astype(bool)}
