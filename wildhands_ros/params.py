"""The hands node's parameters: declared once with descriptors (description, range, read-only), read into
:class:`NodeSettings`, validated at start-up (an invalid value raises :class:`ParameterError` naming the
parameter); only ``smoothing.*`` may change at run time (``on_set_parameters``).

The ``model.*``, ``detector.*``, ``tracking.*`` and ``smoothing.*`` parameters are DERIVED from the core's
config dataclasses (``EstimatorConfig``, ``PipelineConfig``, ``TrackerConfig``, ``SmoothingConfig``): their
defaults, descriptions and ranges/choices are the fields' (``wildhands_core.config.settings_of``),
``CORE_PARAMETERS`` names the field behind each parameter. The ROS-only parameters (lifecycle, topics, input,
tf, output, gripper, retargeting, diagnostics) are declared here. ``config/hands.yaml`` holds every default.
The inputs' QoS are rclpy's ``qos_overrides.<topic>.subscription.*`` parameters
(``wildhands_ros.input_qos``); the former ``qos.*`` parameters (:data:`DEPRECATED`) are still read, unset by
default.
Units: seconds, pixels, Hz (One Euro cut-offs), ``beta`` in Hz per unit/s of the smoothed quantity (see
``wildhands_core.smoothing.config``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy.exceptions import InvalidParameterValueException, ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from wildhands_core.config import Setting, dataclass_from_dict, settings_of
from wildhands_core.estimator import BACKENDS, DEVICES, EstimatorConfig
from wildhands_core.pipeline import PipelineConfig
from wildhands_core.retargeting.robot_hands import UnknownRobotHandError, available_robot_hands, robot_hand
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.tracking.config import TrackerConfig
from wildhands_offline.hand_fields import frame_prefix_problem

__all__ = ["BACKENDS", "CORE_PARAMETERS", "DEVICES", "SPECS", "NodeSettings", "ParameterError", "Spec"]

RELIABILITIES = ("best_effort", "reliable")

#: The core setting behind each ``model.*`` / ``detector.*`` / ``tracking.*`` parameter: (parameter,
#: config dataclass, field). Every ``smoothing.<name>`` is ``SmoothingConfig``'s ``<name>``.
CORE_PARAMETERS: tuple[tuple[str, type, str], ...] = (
    ("model.checkpoint", EstimatorConfig, "checkpoint"),
    ("model.allow_random_weights", EstimatorConfig, "allow_random_weights"),
    ("model.mano_dir", EstimatorConfig, "mano_dir"),
    ("model.backend", EstimatorConfig, "backend"),
    ("model.onnx_path", EstimatorConfig, "onnx_path"),
    ("model.device", EstimatorConfig, "device"),
    ("model.threads", EstimatorConfig, "threads"),
    ("model.crop_scale", EstimatorConfig, "crop_scale"),
    # the hands followed per image; the node's estimator batch is sized to it
    ("model.max_hands", TrackerConfig, "max_hands"),
    ("model.publish_mesh", EstimatorConfig, "return_vertices"),
    ("detector.sources", PipelineConfig, "detector_sources"),
    ("detector.learned_checkpoint", PipelineConfig, "learned_detector_checkpoint"),
    ("detector.min_score", PipelineConfig, "detector_min_score"),
    ("detector.iou_threshold", PipelineConfig, "detector_iou_threshold"),
    ("detector.external_tolerance_s", PipelineConfig, "external_tolerance_s"),
    ("detector.external_wait_s", PipelineConfig, "external_wait_s"),
    ("tracking.enabled", PipelineConfig, "tracking"),
    ("tracking.untracked_side_margin", PipelineConfig, "untracked_side_margin"),
    ("tracking.min_hits", TrackerConfig, "min_hits"),
    ("tracking.max_missed", TrackerConfig, "max_missed"),
    ("tracking.redetect_every_n", TrackerConfig, "redetect_every_n"),
    ("tracking.redetect_every_s", TrackerConfig, "redetect_every_s"),
    ("tracking.search_every_n", TrackerConfig, "search_every_n"),
    ("tracking.one_per_side", TrackerConfig, "one_per_side"),
    ("tracking.lock_side", TrackerConfig, "lock_side"),
    ("tracking.require_plausible", TrackerConfig, "require_plausible"),
    ("tracking.min_plausible_estimates", TrackerConfig, "min_plausible_estimates"),
    ("tracking.max_implausible_estimates", TrackerConfig, "max_implausible_estimates"),
    ("tracking.max_hand_depth_m", TrackerConfig, "max_hand_depth_m"),
    ("tracking.detection_gain", TrackerConfig, "detection_gain"),
    ("tracking.replace_lost_side", TrackerConfig, "replace_lost_side"),
    ("tracking.estimate_side_weight", TrackerConfig, "estimate_side_weight"),
    ("tracking.low_detection_score", TrackerConfig, "low_detection_score"),
    ("tracking.merged_box_cover", TrackerConfig, "merged_box_cover"),
)


class ParameterError(ValueError):
    """An invalid parameter value; the message starts with the parameter's name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"parameter '{name}': {message}")
        self.name = name


@dataclass(frozen=True)
class Spec:
    """One parameter: default, description, optional numeric range (lo, hi) or string choices."""

    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    runtime: bool = False


def _ros_value(value: Any) -> Any:
    """A core default as a ROS parameter value: None -> "" (unset path), tuple -> list (string array)."""
    if value is None:
        return ""
    return list(value) if isinstance(value, tuple) else value


def _derived(name: str, s: Setting, runtime: bool = False) -> Spec:
    return Spec(name, _ros_value(s.default), s.description, s.range, s.choices, runtime)


def _core_specs(prefix: str) -> list[Spec]:
    """The parameters ``<prefix>.*`` of ``CORE_PARAMETERS``, in its order."""
    settings = {cls: settings_of(cls) for cls in {cls for _, cls, _ in CORE_PARAMETERS}}  # once per class
    return [
        _derived(name, settings[cls][field_name])
        for name, cls, field_name in CORE_PARAMETERS
        if name.startswith(prefix + ".")
    ]


def _smoothing_specs() -> list[Spec]:
    """Every ``SmoothingConfig`` setting as ``smoothing.<name>``, changeable at run time."""
    return [_derived(f"smoothing.{n}", s, runtime=True) for n, s in settings_of(SmoothingConfig).items()]


SPECS: tuple[Spec, ...] = (
    Spec(
        "lifecycle.autostart",
        True,
        "configure and activate at start-up; false: wait for lifecycle transitions (ros2 lifecycle set)",
    ),
    *_core_specs("model"),
    *_core_specs("detector"),
    *_core_specs("tracking"),
    *_smoothing_specs(),
    Spec("topics.image", "image", "sensor_msgs/Image input (relative: resolved in the node's namespace)"),
    Spec("topics.camera_info", "camera_info", "sensor_msgs/CameraInfo input"),
    Spec(
        "topics.compressed_image", "image/compressed", "sensor_msgs/CompressedImage input (if use_compressed)"
    ),
    Spec("topics.boxes", "hand_boxes", "wildhands_ros/HandBoxArray external detections ('external' source)"),
    Spec("topics.detections", "", "vision_msgs/Detection2DArray external detections; empty = not subscribed"),
    Spec("input.use_compressed", False, "subscribe to the CompressedImage topic instead of the raw image"),
    Spec(
        "input.use_rectified",
        False,
        "images are rectified: intrinsics from CameraInfo P, no undistortion; false: K, and images with "
        "non-zero D are undistorted",
    ),
    Spec(
        "input.reuse_camera_info",
        True,
        "pair an image with the camera's last CameraInfo if its own is missing",
    ),
    Spec("input.pairing_buffer", 5, "images waiting for their CameraInfo, per camera", (1, 100)),
    Spec("input.camera_info_wait_s", 0.5, "longest wait of an image for its CameraInfo (s)", (0.0, 10.0)),
    Spec(
        "input.reset_on_jump_back_s",
        1.0,
        "a stamp this much older than the last resets tracking; smaller backward steps are rejected (s)",
        (0.0, 1e6),
    ),
    Spec(
        "input.max_stamp_future_s",
        0.5,
        "images stamped further ahead of the node's clock are rejected (stamp_future) (s)",
        (0.0, 1e6),
    ),
    Spec(
        "input.max_stamp_age_s",
        10.0,
        "older stamps are flagged (stamp_old) and left out of the latency statistics (s)",
        (0.0, 1e9),
    ),
    Spec("input.default_frame_id", "", "frame for images with an empty frame_id; empty = reject them"),
    Spec("input.max_image_pixels", 20_000_000, "larger images are rejected (image_too_large)", (1, 10**9)),
    Spec("tf.publish", True, "broadcast camera optical frame -> wrist frames on /tf"),
    Spec(
        "tf.frame_prefix",
        "hand_",
        "prefix of the TF frames: <prefix>left_wrist, <prefix>right_wrist (robot1/, head_; no leading /)",
    ),
    Spec("tf.fingertips", False, "also broadcast wrist -> <prefix><side>_<finger>_tip frames"),
    Spec("output.markers", True, "publish visualization_msgs/MarkerArray on ~/markers"),
    Spec("output.debug_image", False, "publish the image with the skeletons drawn on ~/debug_image"),
    Spec("output.publish_empty", True, "publish a HandArray also when no hand is found"),
    Spec("output.publish_raw", False, "also publish the unsmoothed hands (same tracks) on ~/hands_raw"),
    Spec("output.gripper_targets", True, "publish wildhands_ros/GripperTargetArray on ~/gripper_targets"),
    Spec("output.target_frame", "", "TF frame of the gripper targets' wrist poses (empty: camera frame)"),
    Spec("output.tf_tolerance_s", 0.1, "newest /tf sample held this long past its stamp (s)", (0.0, 10.0)),
    Spec("gripper.closed_aperture_m", 0.02, "pinch aperture -> gripper command 0 (closed), m", (0.0, 1.0)),
    Spec("gripper.open_aperture_m", 0.10, "pinch aperture -> gripper command 1 (open), m", (0.001, 1.0)),
    Spec("gripper.close_below_m", 0.035, "grasp state closes below this pinch aperture, m", (0.001, 1.0)),
    Spec("gripper.open_above_m", 0.05, "grasp state opens above this pinch aperture, m", (0.001, 1.0)),
    Spec(
        "retargeting.robot",
        "",
        "robot hand following each human hand, JointState on ~/robot_hand/{left,right}/joint_states: one "
        f"of {list(available_robot_hands())}; empty = off",
    ),
    Spec(
        "retargeting.config",
        "",
        "a retargeting config of one's own (YAML, wildhands_core/retargeting/config.py; {side} in the path "
        "= right/left files) instead of retargeting.robot",
    ),
    Spec("retargeting.urdf", "", "URDF replacing the config's ({side} in the path = right/left files)"),
    Spec("diagnostics.period_s", 1.0, "period of /diagnostics", (0.05, 60.0)),
    Spec("diagnostics.window", 100, "frames in the latency percentiles", (2, 100000)),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}

#: Parameters replaced by rclpy's QoS overrides (``wildhands_ros.input_qos``), still read for params files
#: written before: unset by default (None), validated when set; the node warns once when one is set.
DEPRECATED: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec(
            "qos.image_reliability",
            "",
            "DEPRECATED: use qos_overrides.<topic>.subscription.reliability; when set, the reliability of "
            "every input subscription that has no such override",
            choices=RELIABILITIES,
        ),
        Spec(
            "qos.image_depth",
            0,
            "DEPRECATED: use qos_overrides.<image topic>.subscription.depth; when set, the image "
            "subscription's history depth unless overridden there",
            (1, 100),
        ),
    )
}


def _descriptor(spec: Spec) -> ParameterDescriptor:
    """The parameter's descriptor. A float parameter is dynamically typed so that an integer literal
    (``1`` in a params file, ``ros2 param set ... 1``) is accepted: :func:`as_declared_type` converts it and
    refuses any other type with a message naming the parameter."""
    d = ParameterDescriptor(description=spec.description, read_only=not spec.runtime)
    if _is_float(spec):
        d.dynamic_typing = True
    if spec.choices:
        d.additional_constraints = f"one of {list(spec.choices)}"
    if spec.range is not None:
        lo, hi = spec.range
        if isinstance(spec.default, bool):
            pass
        elif isinstance(spec.default, int):
            d.integer_range = [IntegerRange(from_value=int(lo), to_value=int(hi), step=0)]
        else:
            d.floating_point_range = [FloatingPointRange(from_value=float(lo), to_value=float(hi), step=0.0)]
    return d


def _is_float(spec: Spec) -> bool:
    return isinstance(spec.default, float)


def as_declared_type(name: str, value: Any) -> Any:
    """``value`` of parameter ``name`` as its declared type: an integer for a float parameter becomes that
    float; any other type than the declared one raises :class:`ParameterError`."""
    spec = SPEC_BY_NAME[name]
    if _is_float(spec) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if _is_float(spec) and not isinstance(value, float):
        raise ParameterError(name, f"{value!r} is not a number (write a float such as 1.0)")
    if isinstance(spec.default, list):
        return list(value)
    if type(value) is not type(spec.default):
        raise ParameterError(name, f"{value!r} is not of type {type(spec.default).__name__}")
    return value


def validate(name: str, value: Any) -> None:
    """Raise :class:`ParameterError` if ``value`` is not valid for parameter ``name``."""
    spec = SPEC_BY_NAME[name] if name in SPEC_BY_NAME else DEPRECATED[name]
    if spec.choices is not None and not isinstance(value, list) and value not in spec.choices:
        raise ParameterError(name, f"{value!r} is not one of {list(spec.choices)}")
    if spec.range is not None and not isinstance(value, bool):
        lo, hi = spec.range
        if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
            raise ParameterError(name, f"{value!r} is outside [{lo}, {hi}]")
    if spec.choices is not None and isinstance(value, list):
        bad = [s for s in value if s not in spec.choices]
        if bad or not value:
            raise ParameterError(name, f"{list(value)} must be a non-empty list of {list(spec.choices)}")
    paths = ("model.checkpoint", "detector.learned_checkpoint", "model.mano_dir", "model.onnx_path")
    if name in paths and value:
        if not Path(value).expanduser().exists():
            raise ParameterError(name, f"{value!r} does not exist")
    if name == "retargeting.robot" and value.strip() not in ("", "none"):
        try:
            robot_hand(value.strip())
        except UnknownRobotHandError as exc:
            raise ParameterError(name, str(exc)) from None
    if name in ("retargeting.config", "retargeting.urdf") and value and "{side}" not in value:
        if not Path(value).expanduser().is_file():
            raise ParameterError(name, f"{value!r} does not exist")
    if name == "input.default_frame_id" and any(c in value for c in " "):
        raise ParameterError(name, f"{value!r} must not contain spaces")
    if name == "tf.frame_prefix" and (problem := frame_prefix_problem(value)):
        raise ParameterError(name, f"{value!r} {problem}")


def declare(node: Node) -> dict[str, Any]:
    """Declare every parameter on ``node`` and return their values; invalid ones raise ParameterError."""
    values: dict[str, Any] = {}
    for spec in SPECS:
        default = spec.default
        try:
            if isinstance(default, list):
                param = node.declare_parameter(spec.name, Parameter.Type.STRING_ARRAY, _descriptor(spec))
                value = list(param.value) if param.value is not None else list(default)
            else:
                value = node.declare_parameter(spec.name, default, _descriptor(spec)).value
        except (InvalidParameterValueException, ParameterException) as exc:
            raise ParameterError(spec.name, str(exc)) from exc
        value = as_declared_type(spec.name, value)
        validate(spec.name, value)
        values[spec.name] = value
    for spec in DEPRECATED.values():
        kind = Parameter.Type.STRING if isinstance(spec.default, str) else Parameter.Type.INTEGER
        descriptor = ParameterDescriptor(description=spec.description, read_only=True)
        try:
            value = node.declare_parameter(spec.name, kind, descriptor).value
        except (InvalidParameterValueException, ParameterException) as exc:
            raise ParameterError(spec.name, str(exc)) from exc
        if value is not None:
            validate(spec.name, value)
        values[spec.name] = value
    return values


def smoothing_from_values(values: dict[str, Any]) -> SmoothingConfig:
    """SmoothingConfig from the ``smoothing.*`` parameter values (``smoothing.joints.beta`` = its
    ``joints.beta``), through the one dict -> dataclass loader."""
    nested: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith("smoothing."):
            *path, key = name.split(".")[1:]
            node = nested
            for part in path:
                node = node.setdefault(part, {})
            node[key] = value
    try:
        return dataclass_from_dict(SmoothingConfig, nested)
    except ValueError as exc:
        raise ParameterError("smoothing", str(exc)) from exc


@dataclass
class NodeSettings:
    """Everything the node reads from its parameters, typed."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def pipeline_config(self) -> PipelineConfig:
        v = self.values
        tracker = TrackerConfig(
            max_hands=int(v["model.max_hands"]),
            one_per_side=bool(v["tracking.one_per_side"]),
            min_hits=int(v["tracking.min_hits"]),
            max_missed=int(v["tracking.max_missed"]),
            redetect_every_n=int(v["tracking.redetect_every_n"]),
            redetect_every_s=float(v["tracking.redetect_every_s"]),
            search_every_n=int(v["tracking.search_every_n"]),
            lock_side=bool(v["tracking.lock_side"]),
            require_plausible=bool(v["tracking.require_plausible"]),
            min_plausible_estimates=int(v["tracking.min_plausible_estimates"]),
            max_implausible_estimates=int(v["tracking.max_implausible_estimates"]),
            max_hand_depth_m=float(v["tracking.max_hand_depth_m"]),
            detection_gain=float(v["tracking.detection_gain"]),
            replace_lost_side=bool(v["tracking.replace_lost_side"]),
            estimate_side_weight=float(v["tracking.estimate_side_weight"]),
            low_detection_score=float(v["tracking.low_detection_score"]),
            merged_box_cover=float(v["tracking.merged_box_cover"]),
            min_detection_score=float(v["detector.min_score"]),
        )
        return PipelineConfig(
            detector_sources=tuple(v["detector.sources"]),
            learned_detector_checkpoint=v["detector.learned_checkpoint"] or None,
            detector_device=v["model.device"],
            # the learned detector runs on ONNX Runtime unless the estimator runs on torch
            detector_backend="torch" if v["model.backend"] == "torch" else "onnxruntime",
            detector_iou_threshold=float(v["detector.iou_threshold"]),
            detector_min_score=float(v["detector.min_score"]),
            external_tolerance_s=float(v["detector.external_tolerance_s"]),
            external_wait_s=float(v["detector.external_wait_s"]),
            tracking=bool(v["tracking.enabled"]),
            untracked_side_margin=float(v["tracking.untracked_side_margin"]),
            tracker=tracker,
            smoothing=smoothing_from_values(v),
        )


def load(node: Node) -> NodeSettings:
    """Declare, read and validate all parameters of ``node``."""
    values = declare(node)
    settings = NodeSettings(values)
    settings.pipeline_config()  # cross-checks (e.g. smoothing values) raise ParameterError here
    return settings


def on_set_parameters(settings: NodeSettings, params: list[Parameter], apply) -> SetParametersResult:
    """Run-time changes: only ``smoothing.*`` (others are read-only); valid changes are stored in
    ``settings`` and ``apply(SmoothingConfig)`` is called once; an invalid one rejects the whole set."""
    new = dict(settings.values)
    for p in params:
        if p.name not in SPEC_BY_NAME:
            continue  # e.g. use_sim_time, qos overrides: handled by rclpy
        spec = SPEC_BY_NAME[p.name]
        if not spec.runtime:
            return SetParametersResult(
                successful=False, reason=f"parameter '{p.name}' is read-only at run time"
            )
        try:
            value = as_declared_type(p.name, p.value)
            validate(p.name, value)
        except ParameterError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        new[p.name] = value
    if any(p.name.startswith("smoothing.") for p in params):
        try:
            smoothing = smoothing_from_values(new)
        except ParameterError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        settings.values = new
        apply(smoothing)
    return SetParametersResult(successful=True)
