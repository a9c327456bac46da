"""A recorded episode's robot-hand joint positions at once (the exporters' action feature).

Per side (LEFT = 0, RIGHT = 1, the messages' handedness), the hand the episode keeps for that side in each
frame (``hand_index_by_side``, the most confident one) is retargeted in frame order as one track per
tracker id: the warm start and the low-pass filter carry over between consecutive frames of the same
track, and restart when the side has no hand in a frame or its track id changes. Frames without a hand of
that side, or whose optimisation failed, hold NaN (never a stale or zero pose) and ``valid`` False.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wildhands_core.retargeting.config import RetargetingConfig
from wildhands_core.retargeting.retargeter import RobotHandRetargeting


@dataclass
class RobotHandTrajectory:
    """``positions[side]`` (F, J) float32 joint positions (rad, m for prismatic joints) in
    ``joint_names[side]`` order (the URDF's movable joints), NaN where ``valid[:, side]`` is False; side 0 =
    LEFT, 1 = RIGHT (only the sides with a config); ``failures``: failed frames by reason."""

    robot: str
    joint_names: dict[int, tuple[str, ...]]
    positions: dict[int, np.ndarray]
    valid: np.ndarray
    failures: dict[str, int] = field(default_factory=dict)


def retarget_episode(joints_m: np.ndarray, hand_index_by_side: np.ndarray, track_id: np.ndarray,
                     configs: dict[bool, RetargetingConfig]) -> RobotHandTrajectory:
    """``joints_m`` (N, 21, 3) every hand's MANO21 joints (metres, any one frame per hand, e.g. the camera
    optical frame), ``hand_index_by_side`` (F, 2) the hand of each side per frame (-1: none), ``track_id``
    (N,) the hands' tracker ids (-1 without tracking: each side is then one track while it is present);
    ``configs``: per side (True = right) as ``config.configs_for`` gives them."""
    retargeting = RobotHandRetargeting(configs)
    side_index = np.asarray(hand_index_by_side)
    F = side_index.shape[0]
    sides = [s for s in (0, 1) if bool(s) in configs]
    names = {s: retargeting.joint_names(bool(s)) for s in sides}
    positions = {s: np.full((F, len(names[s])), np.nan, np.float32) for s in sides}
    valid = np.zeros((F, 2), bool)
    tracks = np.asarray(track_id)
    for f in range(F):
        hands = []
        for s in sides:
            h = int(side_index[f, s])
            if h >= 0:
                tid = int(tracks[h])
                hands.append((bool(s), tid if tid >= 0 else 1_000_000 + s, joints_m[h]))
        for state in retargeting.update_joints(hands):
            s = int(state.is_right)
            positions[s][f] = state.positions
            valid[f, s] = True
    robot = ", ".join(sorted({c.robot for c in configs.values()}))
    return RobotHandTrajectory(robot, names, positions, valid, dict(retargeting.failures))


#: Frame arrays of :func:`episode_robot_hand_arrays`: per side the joint positions, and which are valid.
ROBOT_HAND_FRAME_ARRAYS = ("robot_hand_q_left", "robot_hand_q_right", "robot_hand_valid")


def episode_robot_hand_arrays(arrays: dict[str, np.ndarray], configs: dict[bool, RetargetingConfig]
                              ) -> tuple[dict[str, np.ndarray], dict[str, object], dict[str, int]]:
    """For an episode's arrays (``wildhands_core.episodes.episode_arrays``: ``joints_m``,
    ``hand_index_by_side``, ``track_id``): (frame arrays ``robot_hand_q_left`` (F, J_left) and
    ``robot_hand_q_right`` (F, J_right) float32 NaN where invalid (a side without a config: (F, 0)),
    ``robot_hand_valid`` (F, 2) bool; metadata ``robot_hand`` (the robot name) and
    ``robot_hand_joint_names_left`` / ``_right`` (the joint order of the columns); the frames whose
    retargeting failed, by reason)."""
    traj = retarget_episode(arrays["joints_m"], arrays["hand_index_by_side"], arrays["track_id"], configs)
    F = traj.valid.shape[0]
    out: dict[str, np.ndarray] = {"robot_hand_valid": traj.valid}
    meta: dict[str, object] = {"robot_hand": traj.robot}
    for s, side in ((0, "left"), (1, "right")):
        out[f"robot_hand_q_{side}"] = traj.positions.get(s, np.zeros((F, 0), np.float32))
        meta[f"robot_hand_joint_names_{side}"] = list(traj.joint_names.get(s, ()))
    return out, meta, traj.failures


def robot_hand_action_names(configs: dict[bool, RetargetingConfig]) -> list[str]:
    """Column names of a robot-hand action vector: ``left.<joint>`` then ``right.<joint>`` (URDF joint
    names, the sides with a config)."""
    retargeting = RobotHandRetargeting(configs)
    return [f"{'right' if side else 'left'}.{name}" for side in (False, True) if side in configs
            for name in retargeting.joint_names(side)]


def robot_hand_action(arrays: dict[str, np.ndarray], configs: dict[bool, RetargetingConfig]
                      ) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(F, J) float32 action rows in :func:`robot_hand_action_names` order (0 where invalid), their
    (F, J) validity and the failed frames by reason, for an episode's arrays (as
    :func:`episode_robot_hand_arrays`)."""
    cols, _, failures = episode_robot_hand_arrays(arrays, configs)
    values, valid = [], []
    for s, side in ((0, "left"), (1, "right")):
        q = cols[f"robot_hand_q_{side}"]
        values.append(np.nan_to_num(q, nan=0.0))
        valid.append(np.repeat(cols["robot_hand_valid"][:, s:s + 1], q.shape[1], axis=1))
    return np.concatenate(values, axis=1).astype(np.float32), np.concatenate(valid, axis=1), failures
