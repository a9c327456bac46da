"""Writes a tiny Ego-Exo4D hand-pose split ("train", one take, frames 0 and 30, 64x48 JPEGs) in the released
layout (reference/datasets.md): ``annotations/ego_pose/<split>/hand/annotation/<take_uid>.json`` and
``camera_pose/<take_uid>.json`` (with ``metadata.take_name``), joints ``wrist``, ``<finger>_1..4`` base to
tip,
world frame, metres, extrinsics per frame world → camera; images as the official data preparation writes them,
``image/undistorted/<split>/<take_name>/%06d.jpg`` (keyed by take NAME)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_common import write_image

TAKE_UID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
TAKE_NAME = "georgiatech_cooking_01_02_2"
EE_K = np.array([[40.0, 0.0, 32.0], [0.0, 40.0, 24.0], [0.0, 0.0, 1.0]])
#: world → aria01 camera: identity rotation, 0.4 m along z.
EE_RT = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0.4]])
NAMES = ["wrist"] + [f"{f}_{k}" for f in ("thumb", "index", "middle", "ring", "pinky") for k in range(1, 5)]


def ee_world_openpose(side: str) -> np.ndarray:
    """(21, 3) metres in OpenPose order: joint k at (±0.005k, 0.003k, 0.1); in the camera (z + 0.4) it
    projects to (32 ± 0.4k, 24 + 0.24k) px."""
    k = np.arange(21.0)
    sign = 1.0 if side == "right" else -1.0
    return np.stack([sign * 0.005 * k, 0.003 * k, np.full(21, 0.1)], axis=1)


def ee_projection_px(side: str) -> np.ndarray:
    k = np.arange(21.0)
    sign = 1.0 if side == "right" else -1.0
    return np.stack([32 + sign * 0.4 * k, 24 + 0.24 * k], axis=1)


def _named(points: np.ndarray, side: str, keep: list[int], dims: str) -> dict:
    return {f"{side}_{NAMES[i]}": {d: float(points[i, j]) for j, d in enumerate(dims)} for i in keep}


def write_egoexo4d(root: Path) -> dict:
    """Frame 0: right hand, 21 3D joints; manual 2D (aria01_214-1) = the projection + 1 px, except the wrist
    at (5, 6) (not checked), OpenPose joint 3 40 px off (fails the 30 px reprojection check) and joint 20
    not annotated in 2D; left hand, 3D for 2 joints only. Frame 30: left hand, OpenPose joint 7 missing in 3D,
    manual 2D = the projection. Frame 60: right hand without its 3D wrist (dropped)."""
    base = root / "annotations" / "ego_pose" / "train"
    right, left = ee_world_openpose("right"), ee_world_openpose("left")
    all_j = list(range(21))
    r2d = ee_projection_px("right") + 1.0
    r2d[0] = [5.0, 6.0]
    r2d[3] += [40.0, 0.0]
    ann = {
        "0": [
            {
                "annotation3D": {
                    **_named(right, "right", all_j, "xyz"),
                    **_named(left, "left", [0, 1], "xyz"),
                },
                "annotation2D": {
                    "aria01_214-1": _named(r2d, "right", all_j[:20], "xy"),
                    "cam01": _named(np.zeros((21, 2)), "right", all_j, "xy"),
                },
            }
        ],
        "30": [
            {
                "annotation3D": _named(left, "left", [i for i in all_j if i != 7], "xyz"),
                "annotation2D": {"aria01_214-1": _named(ee_projection_px("left"), "left", all_j, "xy")},
            }
        ],
        "60": [
            {
                "annotation3D": _named(right, "right", all_j[1:], "xyz"),
                "annotation2D": {"aria01_214-1": _named(ee_projection_px("right"), "right", all_j, "xy")},
            }
        ],
    }
    cams = {
        "metadata": {"take_name": TAKE_NAME, "take_uid": TAKE_UID},
        "aria01": {
            "camera_intrinsics": EE_K.tolist(),
            "camera_extrinsics": {str(f): EE_RT.tolist() for f in (0, 30, 60)},
        },
        "cam01": {"camera_intrinsics": np.eye(3).tolist(), "camera_extrinsics": {"0": EE_RT.tolist()}},
    }
    (base / "hand" / "annotation").mkdir(parents=True)
    (base / "camera_pose").mkdir(parents=True)
    (base / "hand" / "annotation" / f"{TAKE_UID}.json").write_text(json.dumps(ann))
    (base / "camera_pose" / f"{TAKE_UID}.json").write_text(json.dumps(cams))
    for f in (0, 30, 60):
        write_image(root / "image" / "undistorted" / "train" / TAKE_NAME / f"{f:06d}.jpg", 64, 48, (1, 2, 3))
    return {"right": right, "left": left, "right_2d": r2d}


#: Frames of ``write_egoexo4d_joint_counts`` and the valid joints of their right hand.
JOINT_COUNT_FRAMES = {0: 3, 30: 4, 60: 9, 90: 10}


def write_egoexo4d_joint_counts(root: Path) -> None:
    """One take whose right hand has exactly n valid joints in frame f (``JOINT_COUNT_FRAMES``): the wrist and
    OpenPose joints 1..n-1 annotated in 3D, their manual 2D points on their projections; the other joints not
    annotated at all."""
    base = root / "annotations" / "ego_pose" / "train"
    right = ee_world_openpose("right")
    proj = ee_projection_px("right")
    ann = {
        str(f): [{"annotation3D": _named(right, "right", list(range(n)), "xyz"),
                  "annotation2D": {"aria01_214-1": _named(proj, "right", list(range(n)), "xy")}}]
        for f, n in JOINT_COUNT_FRAMES.items()
    }
    cams = {
        "metadata": {"take_name": TAKE_NAME, "take_uid": TAKE_UID},
        "aria01": {"camera_intrinsics": EE_K.tolist(),
                   "camera_extrinsics": {str(f): EE_RT.tolist() for f in JOINT_COUNT_FRAMES}},
    }
    (base / "hand" / "annotation").mkdir(parents=True)
    (base / "camera_pose").mkdir(parents=True)
    (base / "hand" / "annotation" / f"{TAKE_UID}.json").write_text(json.dumps(ann))
    (base / "camera_pose" / f"{TAKE_UID}.json").write_text(json.dumps(cams))
    for f in JOINT_COUNT_FRAMES:
        write_image(root / "image" / "undistorted" / "train" / TAKE_NAME / f"{f:06d}.jpg", 64, 48, (1, 2, 3))
