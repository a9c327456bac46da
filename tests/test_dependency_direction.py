"""Dependencies flow one way: ``wildhands_ros`` and ``training`` each build on ``wildhands_core`` (and the
shared synthetic-data package ``wildhands_synth``) and never on each other; the core and ``wildhands_synth``
import no ROS and neither adapter. The offline path ``wildhands_offline`` builds on the core only (the node
shares its message field layout and image decoding): it never imports ``wildhands_ros``, rclpy or training.

Every ``import`` statement counts, also the ones inside functions (a lazy import still makes a ROS install
carry the package it names). The runtime check that every module imports with rclpy blocked is
``tests/core/test_core_is_ros_free.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROS = {"rclpy", "rosidl_runtime_py", "rcl_interfaces", "builtin_interfaces", "sensor_msgs", "geometry_msgs",
       "std_msgs", "visualization_msgs", "diagnostic_msgs", "lifecycle_msgs", "tf2_ros", "tf2_msgs",
       "launch", "launch_ros"}
#: package -> the top-level packages it must never import
FORBIDDEN = {
    "wildhands_core": {"wildhands_ros", "training", "wildhands_synth", "wildhands_offline"} | ROS,
    "wildhands_offline": {"wildhands_ros", "training", "wildhands_synth"} | ROS,
    "wildhands_synth": {"wildhands_ros", "training"} | ROS,
    "wildhands_ros": {"training"},
    "training": {"wildhands_ros", "wildhands_offline"} | ROS,
}


def imported_top_levels(path: Path) -> dict[str, int]:
    """Top-level package of every absolute import in ``path`` -> the first line importing it."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        for top, line in imported_top_levels(path).items():
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {top}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_what_depends_on_it(package):
    assert (REPO / package / "__init__.py").exists()
    assert violations(package) == []


def test_the_scan_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import numpy\n\ndef f():\n    from training.metrics import x\n    import rclpy.node\n")
    assert imported_top_levels(src) == {"numpy": 1, "training": 4, "rclpy": 5}
