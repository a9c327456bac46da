"""The columns of the LeRobot export and what they mean: names, units, frames, conventions.

Everything a user needs to read the numbers goes into ``meta/info.json``, where LeRobot carries it: each
feature's ``names`` (one per column) and an ``info`` dict (``unit``: one per column; ``frame``; a
``description``; for the state the joint order and the rotation conventions), plus ``robot_type``.
LeRobot's dataset tools copy the features with their ``info`` into the datasets they write.

Units: "m" metres, "rad" radians, "1" dimensionless (flags 0/1, confidences and commands in [0, 1], unit
quaternion components, MANO shape coefficients), "ns" nanoseconds.
"""

from __future__ import annotations

from wildhands_core.constants import JOINT_NAMES, MANO_JOINT_NAMES, NUM_BETAS

SIDES = ("left", "right")
#: ``meta/info.json`` ``robot_type``: two human hands, MANO parameters (not a robot's joints).
ROBOT_TYPE = "human_hands_mano"

ROTATIONS = ("quaternion x, y, z, w (scalar last, w >= 0) of the wrist's orientation in the frame; "
             "axis-angle = rotation vector (unit axis x angle in rad): global_orient is MANO's root "
             "rotation in the frame, hand_pose the 15 MANO joints' rotations relative to their parents")


def _side_columns(side: str) -> list[tuple[str, str]]:
    """(name, unit) of one side's 133 state columns."""
    cols = [(f"{side}.valid", "1"), (f"{side}.confidence", "1")]
    cols += [(f"{side}.wrist_{a}", "m") for a in "xyz"] + [(f"{side}.wrist_q{a}", "1") for a in "xyzw"]
    cols += [(f"{side}.joint_{j}_{a}", "m") for j in JOINT_NAMES for a in "xyz"]
    cols += [(f"{side}.global_orient_{a}", "rad") for a in "xyz"]
    cols += [(f"{side}.hand_pose_{j}_{a}", "rad") for j in MANO_JOINT_NAMES[1:] for a in "xyz"]
    cols += [(f"{side}.beta{k}", "1") for k in range(NUM_BETAS)]
    return cols + [(f"{side}.pinch_aperture_m", "m"), (f"{side}.gripper_closed", "1"),
                   (f"{side}.gripper_command", "1")]


_STATE = [c for s in SIDES for c in _side_columns(s)]
_ACTION = [c for s in SIDES for c in [*((f"{s}.wrist_{a}", "m") for a in "xyz"),
                                       *((f"{s}.wrist_q{a}", "1") for a in "xyzw"),
                                       (f"{s}.gripper_command", "1")]]
STATE_NAMES = [n for n, _ in _STATE]
ACTION_NAMES = [n for n, _ in _ACTION]
SIDE_STATE_SIZE = len(STATE_NAMES) // 2
SIDE_ACTION_SIZE = len(ACTION_NAMES) // 2

_HELD = ("a side without a hand (its valid flag 0) holds its last seen values (before its first sighting "
         "the first; never in the episode the dataset's first; never at all 0), left out of the statistics")


def lerobot_features(frame: str, robot_hand: tuple[str, list[str]] | None = None) -> dict[str, dict]:
    """The exported features (dtype, shape, names, info) with poses in ``frame`` (the target frame, or the
    camera optical frame of the images); ``robot_hand`` = (robot name, ``left.<joint>`` / ``right.<joint>``
    column names) adds ``action.robot_hand``."""
    def flag(desc: str) -> dict:
        return {"dtype": "bool", "shape": [1], "names": [desc.split(":")[0]],
                "info": {"unit": ["1"], "description": desc}}

    features = {
        "observation.state": {
            "dtype": "float32", "shape": [len(STATE_NAMES)], "names": STATE_NAMES,
            "info": {"unit": [u for _, u in _STATE], "frame": frame,
                     "description": "per side (left, then right; the most confident hand of that "
                                    "side): valid flag, confidence, wrist pose, 21 joint positions, MANO "
                                    "global orient, hand pose and betas, pinch aperture (thumb tip to index "
                                    "tip), gripper closed (hysteresis) and command (0 closed .. 1 open); "
                                    + _HELD,
                     "joint_names": list(JOINT_NAMES), "joint_order": "MANO21: MANO's 16 joints in MANO's "
                     "order, then the 5 fingertips (numbered 0-20)", "rotations": ROTATIONS}},
        "action": {
            "dtype": "float32", "shape": [len(ACTION_NAMES)], "names": ACTION_NAMES,
            "info": {"unit": [u for _, u in _ACTION], "frame": frame,
                     "description": "per side the wrist target pose and the gripper command (0 closed .. 1 "
                                    "open) at the frame's time; " + _HELD, "rotations": ROTATIONS}},
        "hands_valid": {"dtype": "bool", "shape": [2], "names": list(SIDES),
                        "info": {"unit": ["1", "1"], "description": "a hand of that side was seen (and its "
                                 "transform to the frame found); not a policy input: weight losses by it"}},
        "transform_ok": flag("transform_ok: the camera -> frame transform was found at the image's stamp "
                             "(always True without a target frame; False on filled rows)"),
        "estimated": flag("estimated: a HandArray message exists for the image"),
        "recorded": flag("recorded: a recorded image (False: a row filling a dropped frame, repeating the "
                         "previous image)"),
        "stamp_ns": {"dtype": "int64", "shape": [1], "names": ["stamp_ns"],
                     "info": {"unit": ["ns"], "description": "the image's header.stamp (interpolated on "
                              "filled rows); LeRobot's timestamp is frame_index / fps"}},
    }
    if robot_hand is not None:
        robot, names = robot_hand
        features["action.robot_hand"] = {
            "dtype": "float32", "shape": [len(names)], "names": list(names),
            "info": {"unit": ["rad"] * len(names), "robot": robot,
                     "description": f"joint positions of a {robot} robot hand following each side "
                                    "(URDF joint names; wildhands_core.retargeting, vector retargeting, "
                                    "warm-started per track); " + _HELD}}
    return features


__all__ = ["ACTION_NAMES", "ROBOT_TYPE", "SIDES", "SIDE_ACTION_SIZE", "SIDE_STATE_SIZE", "STATE_NAMES",
           "lerobot_features"]
