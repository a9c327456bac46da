"""Writes a tiny Epic-HandKps release (``epic_hands/hands_5000.pkl``, 1 frame stored at 960x540) in the layout
the authors distribute (reference/datasets.md): {image path: {'right'/'left': {'joints' (21x2, pixels of
1920x1080), 'joints_valid', 'bbox'}}}, joints in AssemblyHands / InterHand order."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from fixtures_common import write_image

IMAGE = "EPIC-KITCHENS/P30/rgb_frames/P30_107/frame_0000012345.jpg"


def handkps_interhand_px() -> np.ndarray:
    """(21, 2) pixels of 1920x1080, InterHand order: joint k at (100 + 20k, 80 + 40k)."""
    k = np.arange(21.0)
    return np.stack([100 + 20 * k, 80 + 40 * k], axis=1)


def write_epic_handkps(root: Path) -> dict:
    """Right hand: InterHand joints 19 and 20 (pinky base, wrist) invalid. Left hand: 3 valid joints (dropped:
    a hand needs more than 3)."""
    kp = handkps_interhand_px()
    valid_r = np.ones(21)
    valid_r[[19, 20]] = 0
    valid_l = np.zeros(21)
    valid_l[:3] = 1
    data = {
        IMAGE: {
            "right": {"joints": kp.tolist(), "joints_valid": valid_r.tolist(), "bbox": [90, 70, 600, 1000]},
            "left": {"joints": kp.tolist(), "joints_valid": valid_l.tolist(), "bbox": [0, 0, 10, 10]},
        }
    }
    (root / "epic_hands").mkdir(parents=True)
    with open(root / "epic_hands" / "hands_5000.pkl", "wb") as f:
        pickle.dump(data, f)
    write_image(root / IMAGE, 960, 540, (5, 5, 5))
    return {"keypoints_interhand_px": kp, "valid_interhand": valid_r.astype(bool)}
