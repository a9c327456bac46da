"""Test-session set-up shared by every test.

ROS isolation: every test session gets its own random ROS_DOMAIN_ID and localhost-only discovery, set in
os.environ before any ROS process starts, so parallel runs on one machine never see each other's topics.
Skips: tests marked ``ros`` skip (with the reason) when rclpy or the generated messages are missing, i.e.
outside ``scripts/wh``; tests marked ``gpu`` skip when no CUDA device exists.
"""

from __future__ import annotations

import os
import random

import pytest

os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")


def _ros_available() -> str | None:
    try:
        import rclpy  # noqa: F401
        from wildhands_ros.msg import HandArray  # noqa: F401
    except Exception as exc:  # ImportError or a missing typesupport library
        return f"ROS 2 environment missing ({exc}); run the tests through scripts/wh"
    return None


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    ros_reason = None
    ros_checked = False
    for item in items:
        if "ros" in item.keywords:
            if not ros_checked:
                ros_reason, ros_checked = _ros_available(), True
            if ros_reason:
                item.add_marker(pytest.mark.skip(reason=ros_reason))
        if "gpu" in item.keywords and not _cuda_available():
            item.add_marker(pytest.mark.skip(reason="no CUDA GPU on this machine"))
