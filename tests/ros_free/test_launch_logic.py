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
    assert d.parameters[1]["use_sim_time"] is True and d.parameters[1]["model.backend"] == "onnxruntime"
    assert node_description().parameters[1]["use_sim_time"] is False
    assert "model.backend" not in node_description().parameters[1]


def _resolve(name: str, node_ns: str) -> str:
    """ROS 2 name resolution of a topic name for a node in namespace ``node_ns`` (design article
    'Topic and Service name mapping to DDS': relative names are appended to the node's namespace)."""
    return name if name.startswith("/") else "/".join([node_ns.rstrip("/"), name]).replace("//", "/")


def test_a_relative_camera_namespace_stays_relative_so_each_robot_reads_its_own_camera():
    d = node_description(camera_namespace="camera", image_topic="image_raw")
    image = dict(d.remappings)["image"]
    assert not image.startswith("/")
    assert _resolve(image, "/robot1") == "/robot1/camera/image_raw"
    assert _resolve(image, "/robot2") == "/robot2/camera/image_raw"
    assert _resolve(dict(node_description(camera_namespace="/camera").remappings)["image"], "/r1") == (
        "/camera/image_raw"
    )


def test_launch_arguments_win_over_topics_from_a_params_file(tmp_path):
    # The params file names other topics; the launch file pins topics.* to the remapped names after it.
    f = tmp_path / "mine.yaml"
    f.write_text("/**:\n  ros__parameters:\n    topics:\n      image: /wrong/image\n")
    d = node_description(camera_namespace="/cam", params_file=f)
    assert d.parameters[0] == str(f)
    later = d.parameters[1]
    assert later["topics.image"] == "image" and later["topics.camera_info"] == "camera_info"
    assert dict(d.remappings)["image"] == "/cam/image_raw"


def test_tf_frame_prefix_and_autostart_are_launch_arguments():
    d = node_description(frame_prefix="left_cam_", autostart="false")
    assert d.parameters[1]["tf.frame_prefix"] == "left_cam_"
    assert d.parameters[1]["lifecycle.autostart"] is False
    assert "tf.frame_prefix" not in node_description().parameters[1]
    assert node_description().parameters[1]["lifecycle.autostart"] is True


def test_checkpoint_and_mano_dir_are_launch_arguments_that_override_the_params_file_when_given():
    d = node_description(checkpoint="/m/wildhands.ckpt", mano_dir="/m/mano")
    assert d.parameters[1]["model.checkpoint"] == "/m/wildhands.ckpt"
    assert d.parameters[1]["model.mano_dir"] == "/m/mano"
    default = node_description().parameters[1]
    assert "model.checkpoint" not in default and "model.mano_dir" not in default  # the params file's


def _launch_arguments() -> dict[str, str]:
    """The launch file's ARGUMENTS: name -> default (read from its source: ``launch`` is not needed)."""
    import ast

    tree = ast.parse((ROOT / "launch" / "hands.launch.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENTS":
            return {
                k.value: (v.elts[0].value if isinstance(v.elts[0], ast.Constant) else None)
                for k, v in zip(node.value.keys, node.value.values, strict=True)
            }
    raise AssertionError("no ARGUMENTS in the launch file")


def test_launch_file_declares_every_argument_of_the_launch_logic():
    import inspect

    args = _launch_arguments()
    for arg in ("camera_namespace", "tf_frame_prefix", "autostart", "params_file", "namespace", "checkpoint",
                "mano_dir"):
        assert arg in args, arg
    accepted = set(inspect.signature(node_description).parameters)
    assert {"frame_prefix" if a == "tf_frame_prefix" else a for a in args} <= accepted
    # no argument is required: `ros2 launch wildhands_ros hands.launch.py` alone starts the node
    assert args["checkpoint"] == "" and args["mano_dir"] == ""


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


def test_the_launch_file_starts_a_managed_lifecycle_node():
    """launch_ros's LifecycleNode (not Node), so launch's ChangeState events and OnStateTransition handlers
    can drive it (read from the source: ``launch`` is not needed)."""
    import ast

    tree = ast.parse((ROOT / "launch" / "hands.launch.py").read_text())
    imports = [n for n in ast.walk(tree)
               if isinstance(n, ast.ImportFrom) and n.module == "launch_ros.actions"]
    imported = {a.name for n in imports for a in n.names}
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "LifecycleNode" in imported and "LifecycleNode" in called and "Node" not in called


def _load_launch_file():
    spec = importlib.util.spec_from_file_location("hands_launch", ROOT / "launch" / "hands.launch.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["hands_launch"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed here")
def test_launch_file_builds_a_lifecycle_node_description():  # pragma: no cover - only where ROS launch exists
    from launch.actions import DeclareLaunchArgument, OpaqueFunction
    from launch_ros.actions import LifecycleNode

    from launch import LaunchContext

    description = _load_launch_file().generate_launch_description()
    declared = {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    assert {"checkpoint", "mano_dir", "autostart", "camera_namespace"} <= set(declared)
    context = LaunchContext()
    for name, arg in declared.items():  # `ros2 launch wildhands_ros hands.launch.py` with no argument
        context.launch_configurations[name] = "".join(s.perform(context) for s in arg.default_value)
    (opaque,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
    (node,) = opaque.execute(context)
    assert isinstance(node, LifecycleNode)
    assert node.node_package == "wildhands_ros" and node.node_executable == "hands_node"


def test_the_launch_file_names_the_backends_from_the_one_list_without_importing_torch():
    import subprocess

    text = (ROOT / "launch" / "hands.launch.py").read_text()
    assert "from wildhands_core.backend_names import BACKENDS" in text and "' | '.join(BACKENDS)" in text
    code = "import sys, wildhands_core.backend_names as b; print(b.BACKENDS, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "('torch', 'onnxruntime', 'tensorrt') False"
