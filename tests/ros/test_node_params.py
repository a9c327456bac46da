"""The node's parameters: declared with descriptors, defaults equal to config/hands.yaml, invalid values
rejected at start-up with the parameter's name, smoothing changeable at run time (no DDS peers needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.ros
ROOT = Path(__file__).resolve().parents[2]


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def test_config_file_holds_every_declared_parameter_with_its_default():
    from wildhands_ros.params import SPECS

    file_values = _flatten(yaml.safe_load((ROOT / "config/hands.yaml").read_text())["/**"]["ros__parameters"])
    assert set(file_values) == {s.name for s in SPECS}
    for s in SPECS:
        assert file_values[s.name] == s.default, s.name
        assert type(file_values[s.name]) is type(s.default), s.name  # 1.0 not 1 for floats


@pytest.fixture
def ros_context():
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    ctx.try_shutdown()


def _node(ctx, **overrides):
    from rclpy.parameter import Parameter

    from wildhands_ros.node import HandsNode

    return HandsNode(context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


@pytest.mark.parametrize(
    "name,value",
    [
        ("model.backend", "jax"),
        ("model.crop_scale", 9.0),
        ("model.max_hands", 0),
        ("detector.sources", ["external", "yolo"]),
        ("tf.frame_prefix", "/robot1/"),
        ("tf.frame_prefix", "head cam_"),
        ("tf.frame_prefix", "robot1//"),
        ("qos.image_reliability", "sometimes"),
    ],
)
def test_invalid_value_stops_start_up_naming_the_parameter(ros_context, name, value):
    from wildhands_ros.params import ParameterError

    with pytest.raises(ParameterError, match=f"'{name}'"):
        _node(ros_context, **{name: value})


@pytest.mark.parametrize("prefix", ["robot1/", "robot1/head_", "hand_", ""])
def test_tf_frame_prefixes_of_the_multi_robot_convention_are_accepted(ros_context, prefix):
    """``robot1/`` is robot_state_publisher's ``frame_prefix`` convention; the frames are then
    ``robot1/left_wrist`` etc."""
    from types import SimpleNamespace

    from wildhands_offline.hand_fields import hand_frame_names

    node = _node(ros_context, **{"tf.frame_prefix": prefix, "lifecycle.autostart": False})
    try:
        assert node.settings["tf.frame_prefix"] == prefix
    finally:
        node.destroy_node()
    left, right = (SimpleNamespace(is_right=r, confidence=0.9, track_id=1) for r in (False, True))
    assert hand_frame_names([left, right], prefix) == [f"{prefix}left_wrist", f"{prefix}right_wrist"]


def test_no_checkpoint_starts_on_the_shipped_demo_checkpoint_with_one_warning(ros_context, capfd):
    node = _node(ros_context, **{"lifecycle.autostart": False})
    try:
        assert node.checkpoint == str(ROOT / "models" / "demo" / "wildhands_demo.pt")
    finally:
        node.destroy_node()
    warnings = [line for line in capfd.readouterr().err.splitlines() if "DEMO checkpoint" in line]
    assert len(warnings) == 1 and warnings[0].startswith("[WARN]"), warnings
    assert "SYNTHETIC" in warnings[0] and "checkpoint:=" in warnings[0] and "model.checkpoint" in warnings[0]


def test_without_the_demo_checkpoint_an_empty_checkpoint_stops_start_up(ros_context, tmp_path, monkeypatch):
    from wildhands_ros.params import ParameterError

    monkeypatch.setenv("WILDHANDS_DEMO_MODEL_DIR", str(tmp_path))  # a folder without wildhands_demo.pt
    with pytest.raises(ParameterError, match=r"'model\.checkpoint'.*empty.*missing"):
        _node(ros_context)
    node = _node(ros_context, **{"model.allow_random_weights": True, "lifecycle.autostart": False})
    try:
        assert node.checkpoint is None  # random weights, asked for
    finally:
        node.destroy_node()


def test_smoothing_parameters_reach_the_tracker_at_run_time_and_others_stay_read_only(ros_context, tmp_path):
    from node_harness import write_small_checkpoint
    from rclpy.parameter import Parameter

    node = _node(ros_context, **{"model.checkpoint": str(write_small_checkpoint(tmp_path / "m.pt"))})
    try:
        from wildhands_core.smoothing.config import SmoothingConfig

        assert node.pipeline.tracker.smoothing.joints.beta == SmoothingConfig().joints.beta
        res = node.set_parameters([Parameter("smoothing.joints.beta", value=12.5)])
        assert res[0].successful
        assert node.pipeline.tracker.smoothing.joints.beta == 12.5
        assert not node.set_parameters([Parameter("smoothing.betas.min_cutoff", value=0.0)])[0].successful
        assert not node.set_parameters([Parameter("model.device", value="cuda")])[0].successful
        assert node.pipeline.config.smoothing.betas.min_cutoff == SmoothingConfig().betas.min_cutoff
    finally:
        node.destroy_node()


def test_integer_literals_are_accepted_for_float_parameters_at_start_up_and_run_time(ros_context, tmp_path):
    """``min_cutoff: 1`` in a params file and ``ros2 param set /hands smoothing.joints.min_cutoff 1`` are
    what users write; rclpy's static typing refused both (a YAML integer is an INTEGER parameter)."""
    from node_harness import write_small_checkpoint
    from rclpy.parameter import Parameter

    node = _node(
        ros_context,
        **{"model.checkpoint": str(write_small_checkpoint(tmp_path / "m.pt")),
           "smoothing.joints.min_cutoff": 2, "input.camera_info_wait_s": 1, "model.crop_scale": 2},
    )
    try:
        assert node.settings["smoothing.joints.min_cutoff"] == 2.0
        assert type(node.settings["model.crop_scale"]) is float and node.settings["model.crop_scale"] == 2.0
        assert node.pipeline.tracker.smoothing.joints.min_cutoff == 2.0
        assert node.set_parameters([Parameter("smoothing.joints.min_cutoff", value=1)])[0].successful
        smoothing = node.pipeline.tracker.smoothing.joints
        assert smoothing.min_cutoff == 1.0 and type(smoothing.min_cutoff) is float
        refused = node.set_parameters([Parameter("smoothing.joints.min_cutoff", value="fast")])[0]
        assert not refused.successful
        assert "smoothing.joints.min_cutoff" in refused.reason and "1.0" in refused.reason
        out_of_range = node.set_parameters([Parameter("smoothing.joints.min_cutoff", value=0)])[0]
        assert not out_of_range.successful and "outside" in out_of_range.reason
    finally:
        node.destroy_node()


def test_a_string_for_a_float_parameter_stops_start_up_naming_it_and_the_fix(ros_context):
    from wildhands_ros.params import ParameterError

    with pytest.raises(ParameterError, match=r"'model\.crop_scale'.*not a number.*1\.0"):
        _node(ros_context, **{"model.crop_scale": "big"})


def test_module_entry_point_exits_2_and_names_the_bad_parameter():
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "wildhands_ros",
            "--ros-args",
            "--params-file",
            str(ROOT / "config/hands.yaml"),
            "-p",
            "model.device:=tpu",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert "model.device" in res.stderr and "tpu" in res.stderr


def test_core_parameters_are_the_core_settings():
    """model/detector/tracking/smoothing parameters: default, description, range, choices of the field."""
    from wildhands_core.config import settings_of
    from wildhands_core.smoothing.config import SmoothingConfig
    from wildhands_ros.params import CORE_PARAMETERS, SPECS

    by_name = {s.name: s for s in SPECS}
    expected = {name: settings_of(cls)[field] for name, cls, field in CORE_PARAMETERS}
    expected.update({f"smoothing.{n}": s for n, s in settings_of(SmoothingConfig).items()})
    core_prefixes = ("model.", "detector.", "tracking.", "smoothing.")
    assert {s.name for s in SPECS if s.name.startswith(core_prefixes)} == set(expected)
    for name, setting in expected.items():
        spec = by_name[name]
        default = setting.default
        default = "" if default is None else list(default) if isinstance(default, tuple) else default
        assert (spec.default, spec.description, spec.range, spec.choices) == (
            default, setting.description, setting.range, setting.choices), name
        assert spec.runtime == name.startswith("smoothing."), name


@pytest.mark.parametrize(
    "name,default,description,value_range",
    [
        ("model.crop_scale", 1.75, "hand crop side = longest box side x this (release demo: 1.75)",
         (1.0, 4.0)),
        ("model.max_hands", 2, "hands estimated per image at most", (1, 8)),
        ("model.threads", 0, "ONNX Runtime intra-op threads (0 = its default: one per core)", (0, 64)),
        ("detector.min_score", 0.3, "detections with a lower score are ignored", (0.0, 1.0)),
        ("detector.external_tolerance_s", 0.0,
         "external boxes match an image within this stamp difference (s)", (0.0, 1.0)),
        ("detector.external_wait_s", 0.1, "a frame waits this long for its external boxes (s)", (0.0, 5.0)),
        ("tracking.max_missed", 5, "detection frames without match before a track dies", (0, 1000)),
        ("smoothing.joints.beta", 20.0, "joints: cut-off increase per unit/s of speed", (0.0, 1e4)),
        ("smoothing.betas.min_cutoff", 0.3, "betas: minimum cut-off (Hz)", (1e-3, 100.0)),
    ],
)
def test_parameter_table_entries(name, default, description, value_range):
    from wildhands_ros.params import SPEC_BY_NAME, _descriptor

    spec = SPEC_BY_NAME[name]
    assert (spec.default, spec.description, spec.range) == (default, description, value_range)
    assert type(spec.default) is type(default)
    d = _descriptor(spec)
    assert d.description == description and d.read_only == (not name.startswith("smoothing."))
    ranges = d.integer_range if isinstance(default, int) else d.floating_point_range
    assert (ranges[0].from_value, ranges[0].to_value) == value_range


def test_choice_parameters():
    from wildhands_ros.params import SPEC_BY_NAME, ParameterError, validate

    assert SPEC_BY_NAME["model.backend"].choices == ("torch", "onnxruntime", "tensorrt")
    assert SPEC_BY_NAME["model.device"].choices == ("cpu", "cuda")
    assert SPEC_BY_NAME["detector.sources"].default == ["mediapipe"]
    validate("detector.sources", ["external", "learned"])
    with pytest.raises(ParameterError, match=r"'detector\.sources'.*non-empty"):
        validate("detector.sources", [])


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory):
    from node_harness import write_small_checkpoint

    return str(write_small_checkpoint(tmp_path_factory.mktemp("qos") / "m.pt"))


def _active_node(ctx, checkpoint: str, **overrides):
    """The node, active, its image and CameraInfo topics remapped to /cam/image_raw and /cam/camera_info."""
    from rclpy.parameter import Parameter

    from wildhands_ros.node import HandsNode

    values = {"model.checkpoint": checkpoint, "detector.sources": ["external"], **overrides}
    return HandsNode(
        context=ctx,
        cli_args=["--ros-args", "-r", "image:=/cam/image_raw", "-r", "camera_info:=/cam/camera_info"],
        parameter_overrides=[Parameter(k, value=v) for k, v in values.items()],
    )


def _subscription_qos(node, topic: str) -> tuple[str, int]:
    """(reliability as the ROS graph reports it, history depth of the node's subscription) of ``topic``."""
    (info,) = node.get_subscriptions_info_by_topic(topic)
    (sub,) = [s for s in node.subscriptions if s.topic_name == topic]
    return info.qos_profile.reliability.name.lower(), sub.qos_profile.depth


def test_input_qos_are_rclpy_qos_override_parameters(ros_context, small_checkpoint):
    """``qos_overrides.<topic>.subscription.*``, the parameters rclpy's QoSOverridingOptions declare (as
    image_pipeline nodes do); defaults best effort, image depth 1."""
    node = _active_node(
        ros_context,
        small_checkpoint,
        **{
            "qos_overrides./cam/image_raw.subscription.reliability": "reliable",
            "qos_overrides./cam/image_raw.subscription.depth": 7,
        },
    )
    try:
        assert _subscription_qos(node, "/cam/image_raw") == ("reliable", 7)
        assert _subscription_qos(node, "/cam/camera_info") == ("best_effort", 5)
        declared = node.get_parameter("qos_overrides./cam/camera_info.subscription.reliability").value
        assert declared == "best_effort"
        assert node.describe_parameter("qos_overrides./cam/image_raw.subscription.depth").read_only
    finally:
        node.destroy_node()
    node = _active_node(ros_context, small_checkpoint)
    try:
        assert _subscription_qos(node, "/cam/image_raw") == ("best_effort", 1)
    finally:
        node.destroy_node()


def test_the_former_qos_parameters_still_apply_with_one_warning_and_overrides_win(
    ros_context, small_checkpoint, capfd
):
    capfd.readouterr()
    old = {"qos.image_reliability": "reliable", "qos.image_depth": 10}
    node = _active_node(ros_context, small_checkpoint, **old)
    try:
        assert _subscription_qos(node, "/cam/image_raw") == ("reliable", 10)
        assert _subscription_qos(node, "/cam/camera_info")[0] == "reliable"
    finally:
        node.destroy_node()
    err = capfd.readouterr().err
    warned = [line for line in err.splitlines() if "deprecated" in line]
    assert len(warned) == 2 and all(line.startswith("[WARN]") for line in warned), err[-2000:]
    assert "qos_overrides./cam/image_raw.subscription.reliability" in warned[0]
    assert "qos_overrides./cam/image_raw.subscription.depth" in warned[1]
    node = _active_node(
        ros_context,
        small_checkpoint,
        **{"qos.image_depth": 10, "qos_overrides./cam/image_raw.subscription.depth": 3},
    )
    try:
        assert _subscription_qos(node, "/cam/image_raw") == ("best_effort", 3)
    finally:
        node.destroy_node()


def test_an_unusable_qos_override_stops_start_up_naming_the_parameter(ros_context, small_checkpoint):
    with pytest.raises(RuntimeError, match=r"qos_overrides\./cam/image_raw\.subscription\.reliability"):
        bad = {"qos_overrides./cam/image_raw.subscription.reliability": "sometimes"}
        _active_node(ros_context, small_checkpoint, **bad)
