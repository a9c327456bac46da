"""Per-episode robot targets of exported hands: the hands in a target TF frame, and gripper targets.

Inputs are the arrays of :func:`wildhands_core.episodes.episode_arrays` (camera optical frame). Outputs:

Hand arrays (N hands), only with a target frame (NaN where the transform is missing):
    joints_target_m (N, 21, 3), wrist_position_target_m (N, 3), wrist_quat_target_xyzw (N, 4),
    global_orient_target_aa (N, 3), mano_translation_target_m (N, 3)      metres / radians, target frame
Hand arrays (always):
    pinch_aperture_m (N,)            thumb tip to index tip, metres (``wildhands_core.gripper``)
Frame arrays (F frames; side column 0 = LEFT, 1 = RIGHT, the most confident hand of that side):
    transform_ok      (F,)   bool    the camera -> target transform existed at the frame's stamp
    side_valid        (F, 2) bool    a hand of that side is in the frame (and, with a target frame, the
                                     transform existed)
    wrist_target_pose (F, 2, 7) f32  wrist x, y, z (m), qx, qy, qz, qw in the target frame (the camera
                                     frame without one); NaN where not side_valid
    gripper_aperture_m, gripper_command (F, 2) f32   NaN where not side_valid
    gripper_closed    (F, 2) bool    hysteresis state (False where not side_valid)
Missing transforms are counted by reason (``wildhands_core.transforms.TRANSFORM_ERROR_REASONS``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.gripper import GripperConfig, GripperTracker, pinch_aperture_m
from wildhands_core.transforms import TransformBuffer, TransformError, hand_in_frame

TARGET_HAND_ARRAYS = {
    "joints_target_m": (21, 3),
    "wrist_position_target_m": (3,),
    "wrist_quat_target_xyzw": (4,),
    "global_orient_target_aa": (3,),
    "mano_translation_target_m": (3,),
}


@dataclass
class TargetFrame:
    """Where to express the hands: ``frame`` and the transforms to get there (``buffer``: from the bag's
    /tf + /tf_static and/or a static extrinsic)."""

    frame: str
    buffer: TransformBuffer


def episode_targets(arrays: dict[str, np.ndarray], camera_frames: list[str], target: TargetFrame | None,
                    gripper: GripperConfig, missing: Counter) -> dict[str, np.ndarray]:
    """The module docstring's arrays for one episode; ``camera_frames[f]`` = frame f's header.frame_id;
    ``missing[reason]`` counts frames whose transform is missing."""
    F, N = len(arrays["frame_stamp_ns"]), len(arrays["frame_index"])
    out: dict[str, np.ndarray] = {"pinch_aperture_m": pinch_aperture_m(arrays["joints_m"]).astype(np.float32)
                                  if N else np.zeros(0, np.float32)}
    out["transform_ok"] = np.ones(F, bool)
    pos, quat = arrays["wrist_position_m"].astype(np.float64), arrays["wrist_quat_xyzw"].astype(np.float64)
    joints = arrays["joints_m"].astype(np.float64)
    if target is not None:
        tgt = {k: np.full((N, *s), np.nan, np.float32) for k, s in TARGET_HAND_ARRAYS.items()}
        for f in range(F):
            try:
                R, t = target.buffer.lookup(target.frame, camera_frames[f], int(arrays["frame_stamp_ns"][f]))
            except TransformError as exc:
                out["transform_ok"][f] = False
                missing[exc.reason] += 1
                continue
            for h in np.nonzero(arrays["frame_index"] == f)[0]:
                r = hand_in_frame(R, t, joints[h], quat[h], arrays["global_orient_aa"][h],
                                  arrays["mano_translation_m"][h])
                tgt["joints_target_m"][h] = r.joints_m
                tgt["wrist_position_target_m"][h] = r.wrist_position_m
                tgt["wrist_quat_target_xyzw"][h] = r.wrist_quat_xyzw
                tgt["global_orient_target_aa"][h] = r.global_orient_aa
                tgt["mano_translation_target_m"][h] = r.mano_translation_m
        out.update(tgt)
        pos, quat, joints = (tgt["wrist_position_target_m"], tgt["wrist_quat_target_xyzw"],
                             tgt["joints_target_m"])
    side = arrays["hand_index_by_side"]
    valid = (side >= 0) & out["transform_ok"][:, None]
    pose = np.full((F, 2, 7), np.nan, np.float32)
    aperture = np.full((F, 2), np.nan, np.float32)
    command = np.full((F, 2), np.nan, np.float32)
    closed = np.zeros((F, 2), bool)
    tracker = GripperTracker(gripper)
    for f in range(F):
        for s in (0, 1):
            if not valid[f, s]:
                continue
            h = side[f, s]
            q = Rotation.from_quat(quat[h]).as_quat(canonical=True)
            pose[f, s] = np.concatenate([pos[h], q])
            g = tracker.update(s, joints[h], int(arrays["frame_stamp_ns"][f]))
            aperture[f, s], command[f, s], closed[f, s] = g.aperture_m, g.command, g.closed
    out.update({"side_valid": valid, "wrist_target_pose": pose, "gripper_aperture_m": aperture,
                "gripper_command": command, "gripper_closed": closed})
    return out


__all__ = ["TARGET_HAND_ARRAYS", "TargetFrame", "episode_targets"]
