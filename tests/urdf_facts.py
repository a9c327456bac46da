"""The robot hands' URDF files read as plain XML: the outside fact the retargeting tests check against
(independent of pinocchio, which the code under test uses)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wildhands_core.retargeting.robot_hands import urdf_path


def urdf_joint_limits(robot: str, is_right: bool) -> dict[str, tuple[float, float]]:
    """The movable (revolute, prismatic) joints of the catalogue robot's URDF -> (lower, upper) limits,
    rad (m for prismatic joints), in file order."""
    out = {}
    for j in ET.parse(urdf_path(robot, is_right)).getroot().iter("joint"):
        if j.get("type") in ("revolute", "prismatic"):
            lim = j.find("limit")
            out[j.get("name")] = (float(lim.get("lower")), float(lim.get("upper")))
    return out
