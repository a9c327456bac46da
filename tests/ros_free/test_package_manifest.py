"""package.xml declares what the ROS code imports (REP-149 format 3); colcon installs the user's commands
and registers tests (CMakeLists.txt)."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: ROS packages whose Python module name differs from the package name.
MODULE_TO_PACKAGE = {"tf2_ros": "tf2_ros_py", "launch": "launch", "launch_ros": "launch_ros"}
NOT_ROS = {"numpy", "scipy", "cv2", "yaml", "torch", "rosbags", "mcap", "mcap_ros2", "pyarrow", "tqdm"}


def _declared() -> set[str]:
    root = ET.parse(ROOT / "package.xml").getroot()
    return {e.text for e in root if e.tag.endswith("depend")}


def _ros_imports() -> set[str]:
    mods: set[str] = set()
    files = list((ROOT / "wildhands_ros").rglob("*.py")) + [ROOT / "launch" / "hands.launch.py"]
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
    ros_like = re.compile(r"^(rclpy|rcl_\w+|\w+_msgs|\w+_interfaces|tf2_\w+|launch\w*|ament_\w+)$")
    return {m for m in mods if ros_like.match(m) and m not in NOT_ROS}


def test_every_imported_ros_package_is_declared_under_its_package_name():
    declared = _declared()
    missing = {MODULE_TO_PACKAGE.get(m, m) for m in _ros_imports()} - declared - {"wildhands_ros"}
    assert not missing, f"imported but not in package.xml: {sorted(missing)}"
    assert "tf2_ros_py" in declared and "tf2_ros" not in declared  # the Python module's package
    assert {"ros2launch", "vision_msgs"} <= declared


def test_colcon_installs_the_node_demo_and_bag_commands_and_registers_tests():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    for script in ("hands_node", "wildhands_demo", "wildhands_bag"):
        path = ROOT / "scripts" / "ros" / script
        assert f"scripts/ros/{script}" in cmake and path.stat().st_mode & 0o111, script
        target = re.search(r"from (wildhands_ros[\w.]*) import", path.read_text()).group(1)
        assert (ROOT / (target.replace(".", "/") + ".py")).exists(), target
    assert "ament_add_pytest_test" in cmake and "BUILD_TESTING" in cmake
    assert "ament_cmake_pytest" in _declared()
