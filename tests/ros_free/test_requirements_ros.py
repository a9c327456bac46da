"""requirements-ros.txt (installed next to an apt ROS 2) never upgrades the system numpy: ROS's compiled
Python modules are built against numpy 1.x (Ubuntu 22.04 python3-numpy 1.21.5, 24.04: 1.26.4)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> dict[str, Requirement]:
    lines = (ROOT / "requirements-ros.txt").read_text().splitlines()
    reqs = [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]
    return {r.name: r for r in reqs}


def test_numpy_is_capped_below_2_and_accepts_the_ubuntu_system_versions():
    numpy = _requirements()["numpy"].specifier
    assert "1.21.5" in numpy and "1.26.4" in numpy
    assert "2.0.0" not in numpy and "2.4.6" not in numpy


def test_readme_documents_a_venv_that_sees_the_system_ros_python():
    readme = (ROOT / "README.md").read_text()
    assert "--system-site-packages" in readme and "requirements-ros.txt" in readme
