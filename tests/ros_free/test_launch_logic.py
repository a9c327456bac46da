"""The launch file's logic as a plain function (no ``launch`` package needed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from wildhands_ros.launch_logic import command_line, default_params_file, node_description

ROOT = Path(__file__).resolve().parents[2]


def test_camera_topics_are_remapped_onto_the_node_inputs():
    d = node_description(
        camera_namespace="/robot/head_cam",
        image_topic="color/image_raw",
        camera_info_topic="color/camera_info",
    )
    remaps = dict(d.remappings)
    assert remaps["image"] == "/robot/head_cam/color/image_raw"
    assert remaps["camera_info"] == "/robot/head_cam/color/camera_info"
    assert remaps["image/compressed"] == "/robot/head_cam/color/image_raw/compressed"
    assert (d.package, d.executable) == ("wildhands_ros", "hands_node")


def test_absolute_topics_ignore_the_camera_namespace():
    d = node_description(camera_namespace="/cam", image_topic="/other/image")
    assert dict(d.remappings)["image"] == "/other/image"


def test_backend_and_sim_time_override_the_params_file_which_comes_first():
    d = node_description(params_file="/x/hands.yaml", backend="onnxruntime", use_sim_time="true")
    assert d.parameters[0] == "/x/hands.yaml"
    assert d.parameters[1] == {"use_sim_time": True, "model.backend": "onnxruntime"}
    assert node_description().parameters[1] == {"use_sim_time": False}


def test_command_line_is_the_python_module_with_ros_args():
    d = node_description(
        camera_namespace="/cam",
        params_file="/p.yaml",
        use_sim_time=True,
        namespace="robot",
        overrides={"detector.sources": ["external", "mediapipe"]},
    )
    cmd = command_line(d, python="python3")
    assert cmd[:4] == ["python3", "-m", "wildhands_ros", "--ros-args"]
    joined = " ".join(cmd)
    assert "--params-file /p.yaml" in joined and "-p use_sim_time:=true" in joined
    assert "-p detector.sources:=[external, mediapipe]" in joined
    assert "-r image:=/cam/image" in joined and "-r __ns:=/robot" in joined and "-r __node:=hands" in joined


def test_default_params_file_is_the_shipped_config():
    path = default_params_file()
    assert path == ROOT / "config" / "hands.yaml"
    params = yaml.safe_load(path.read_text())["/**"]["ros__parameters"]
    assert params["model"]["backend"] == "torch"


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed here")
def test_launch_file_builds_a_description():  # pragma: no cover - only where ROS launch exists
    spec = importlib.util.spec_from_file_location("hands_launch", ROOT / "launch" / "hands.launch.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["hands_launch"] = mod
    spec.loader.exec_module(mod)
    assert len(mod.generate_launch_description().entities) > 1
