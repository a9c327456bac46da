"""Where a robot hand sits on the human wrist, for display: the static transform from the node's wrist TF
frame (``<prefix><side>_wrist``: origin at the MANO wrist joint, axes = the MANO global orientation) to the
robot URDF's root link, such that robot_state_publisher + RViz draw the robot hand over the human hand.

The retargeting compares both hands in the hand frame (``hand_frame``). In the wrist frame the human hand
frame is fixed: the wrist and the index, middle and little-finger bases are all children of MANO's root
joint, so finger articulation does not move them (it is taken from the MANO template, mean shape). The
robot's hand frame in its root frame is ``RobotHandSolver.robot_frame``. Mounting the root at rotation
``R = R_human_in_wrist @ R_robot_in_root.T`` with the robot's wrist link (zero joint positions) at the wrist
joint aligns the two hand frames, and then the robot's fingertips lie at the wrist + ``scaling`` times the
human fingertip vectors, as far as the retargeting matched them.

``python -m wildhands_core.retargeting.mounting allegro right --wrist-frame hand_right_wrist`` prints the
``static_transform_publisher`` arguments (and nothing else) on standard output. Units: metres; quaternions
(x, y, z, w).
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.captured_output import captured_output
from wildhands_core.retargeting.hand_frame import human_hand_frame


def urdf_root_link(urdf: str | Path) -> str:
    """The URDF's root link: the one link that is no joint's child."""
    root = ET.parse(urdf).getroot()
    children = {j.find("child").get("link") for j in root.iter("joint")}
    roots = [link.get("name") for link in root.iter("link") if link.get("name") not in children]
    if len(roots) != 1:
        raise ValueError(f"URDF {urdf}: {len(roots)} root links {roots}, expected one")
    return roots[0]


def mano_hand_frame_in_wrist(is_right: bool, mano_dir: str | Path | None = None) -> np.ndarray:
    """(3, 3) the human hand frame's axes (columns) in the wrist frame: the MANO template's (zero pose,
    mean shape), from ``wildhands_core.mano.layer.load_mano_pair(mano_dir)``."""
    import torch

    from wildhands_core.mano.layer import load_mano_pair

    right, left = load_mano_pair(mano_dir)
    layer = right if is_right else left
    with torch.no_grad():
        joints = layer.forward_aa(torch.zeros(1, 48), torch.zeros(1, 10))["joints"][0]
    return human_hand_frame(joints.double().numpy())


def robot_root_in_wrist(solver, human_frame_in_wrist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(translation (3,) m, quaternion xyzw) of the robot's URDF root frame in the wrist frame, for a built
    ``RobotHandSolver`` and the human hand frame in the wrist frame (:func:`mano_hand_frame_in_wrist`)."""
    rotation = np.asarray(human_frame_in_wrist, np.float64) @ solver.robot_frame.T
    robot = solver.robot
    q0 = np.clip(np.zeros(robot.dof), solver.lower, solver.upper)
    robot.compute_forward_kinematics(q0)
    wrist_in_root = robot.get_link_pose(robot.get_link_index(solver.cfg.palm["wrist"]))[:3, 3]
    return -rotation @ wrist_in_root, Rotation.from_matrix(rotation).as_quat()


def static_transform_arguments(robot: str, is_right: bool, wrist_frame: str, robot_frame_prefix: str = "",
                               mano_dir: str | Path | None = None) -> list[str]:
    """``tf2_ros static_transform_publisher`` arguments placing catalogue robot hand ``robot`` (its root
    link, with robot_state_publisher's ``frame_prefix``) on ``wrist_frame``."""
    from wildhands_core.retargeting.config import configs_for
    from wildhands_core.retargeting.solver import RobotHandSolver

    solver = RobotHandSolver(configs_for(robot=robot)[is_right])
    t, q = robot_root_in_wrist(solver, mano_hand_frame_in_wrist(is_right, mano_dir))
    values = dict(zip(("--x", "--y", "--z", "--qx", "--qy", "--qz", "--qw"), [*t, *q], strict=True))
    args = [s for k, v in values.items() for s in (k, f"{v:.6f}")]
    return [*args, "--frame-id", wrist_frame, "--child-frame-id",
            robot_frame_prefix + urdf_root_link(solver.cfg.urdf)]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("robot", help="catalogue name (allegro, leap, shadow, inspire, ability, svh)")
    ap.add_argument("side", choices=["right", "left"])
    ap.add_argument("--wrist-frame", default="", help="the node's wrist frame (default hand_<side>_wrist)")
    ap.add_argument("--robot-frame-prefix", default="", help="robot_state_publisher's frame_prefix")
    ap.add_argument("--mano-dir", default=None)
    a = ap.parse_args(argv)
    wrist = a.wrist_frame or f"hand_{a.side}_wrist"
    # standard output carries the arguments only: what smplx prints while MANO loads goes to stderr
    with captured_output(lambda line: print(line, file=sys.stderr)):
        args = static_transform_arguments(a.robot, a.side == "right", wrist, a.robot_frame_prefix, a.mano_dir)
    print(" ".join(args))


if __name__ == "__main__":
    main()
