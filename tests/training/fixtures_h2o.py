"""Writes a tiny H2O dataset (cam4 of one take, 2 frames, 64x48 PNGs) in the layout of
``training.datasets.h2o``; returns the values written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fixtures_common import write_image

H2O_W, H2O_H = 64, 48
H2O_K = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])


def h2o_right_joints_openpose() -> np.ndarray:
    """(21, 3) metres, OpenPose order: joint k at (0.01k − 0.1, 0.005k, 0.5) → pixel (22 + k, 24 + k/2)."""
    k = np.arange(21.0)
    return np.stack([0.01 * k - 0.1, 0.005 * k, np.full(21, 0.5)], axis=1)


def h2o_left_joints_openpose() -> np.ndarray:
    """(21, 3) metres: the right hand shifted by −0.05 m in x and 0.1 m further away."""
    return h2o_right_joints_openpose() + np.array([-0.05, 0.0, 0.1])


def write_h2o(root: Path) -> dict:
    """Frame 000000: both hands valid; frame 000001: right hand only (left flag 0)."""
    cam = root / "subject1" / "h1" / "0" / "cam4"
    (cam / "hand_pose").mkdir(parents=True)
    (cam / "cam_intrinsics.txt").write_text("50.0 50.0 32.0 24.0 64 48\n")
    right, left = h2o_right_joints_openpose(), h2o_left_joints_openpose()
    for i, left_valid in enumerate((1, 0)):
        vals = [float(left_valid), *(left.reshape(-1) * left_valid), 1.0, *right.reshape(-1)]
        (cam / "hand_pose" / f"{i:06d}.txt").write_text(" ".join(f"{v:.6f}" for v in vals) + "\n")
        write_image(cam / "rgb" / f"{i:06d}.png", H2O_W, H2O_H, (200, 10 * i, 30))
    return {"cam_dir": cam, "right": right, "left": left}


def write_h2o_val_list(root: Path) -> None:
    """``pose_lists/pose_val.txt`` listing frame 000001 only, in the release's line form
    (subject/action/take/cam4/rgb/frame.png)."""
    (root / "pose_lists").mkdir(parents=True, exist_ok=True)
    (root / "pose_lists" / "pose_val.txt").write_text("subject1/h1/0/cam4/rgb/000001.png\n")
