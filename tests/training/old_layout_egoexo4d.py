"""The layout this project ASSUMED before issue #17 (kept to check that the adapter now rejects it):
writes a tiny Ego-Exo4D hand-pose split ("train", one take, frames 0 and 30, 64x48 JPEGs) in the layout
of ``training.datasets.egoexo4d_hands``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_common import write_image

TAKE = "0a1b2c3d-take"
EE_K = np.array([[40.0, 0.0, 32.0], [0.0, 40.0, 24.0], [0.0, 0.0, 1.0]])
#: world → aria01 camera: identity rotation, 0.4 m along z.
EE_RT = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0.4]])
NAMES = ["wrist"] + [f"{f}_{k}" for f in ("thumb", "index", "middle", "ring", "pinky") for k in range(1, 5)]


def ee_world_openpose(side: str) -> np.ndarray:
    """(21, 3) metres in OpenPose order: joint k at (±0.005k, 0.003k, 0.1)."""
    k = np.arange(21.0)
    sign = 1.0 if side == "right" else -1.0
    return np.stack([sign * 0.005 * k, 0.003 * k, np.full(21, 0.1)], axis=1)


def _named(points: np.ndarray, side: str, keep: list[int], dims: str) -> dict:
    return {f"{side}_{NAMES[i]}": {d: float(points[i, j]) for j, d in enumerate(dims)} for i in keep}


def write_egoexo4d(root: Path) -> dict:
    """Frame 0: right hand, all 21 3D joints, manual 2D for the wrist only (at (5, 6)); left hand, 2 joints.
    Frame 30: left hand with OpenPose joint 7 missing."""
    base = root / "annotations" / "ego_pose" / "train"
    right, left = ee_world_openpose("right"), ee_world_openpose("left")
    all_j = list(range(21))
    ann = {
        "0": [
            {
                "annotation3D": {
                    **_named(right, "right", all_j, "xyz"),
                    **_named(left, "left", [0, 1], "xyz"),
                },
                "annotation2D": {
                    "aria01_214-1": _named(np.array([[5.0, 6.0]]), "right", [0], "xy"),
                    "cam01": _named(np.zeros((21, 2)), "right", all_j, "xy"),
                },
            }
        ],
        "30": [
            {"annotation3D": _named(left, "left", [i for i in all_j if i != 7], "xyz"), "annotation2D": {}}
        ],
    }
    cams = {
        "aria01": {
            "camera_intrinsics": EE_K.tolist(),
            "camera_extrinsics": {"0": EE_RT.tolist(), "30": EE_RT.tolist()},
        },
        "cam01": {"camera_intrinsics": np.eye(3).tolist(), "camera_extrinsics": {"0": EE_RT.tolist()}},
    }
    (base / "hand" / "annotation").mkdir(parents=True)
    (base / "camera_pose").mkdir(parents=True)
    (base / "hand" / "annotation" / f"{TAKE}.json").write_text(json.dumps(ann))
    (base / "camera_pose" / f"{TAKE}.json").write_text(json.dumps(cams))
    for f in (0, 30):
        write_image(root / "images" / TAKE / "aria01" / f"{f:06d}.jpg", 64, 48, (1, 2, 3))
    return {"right": right, "left": left}
