"""The node's ``~/gripper_targets`` output: per published hand a ``wildhands_ros/GripperTarget`` (pinch
aperture, open/closed with hysteresis, [0, 1] command, wrist pose), from ``wildhands_core.gripper``.

Parameters ``gripper.*`` (metres; ``wildhands_core.gripper.GripperConfig`` holds the mapping and its
defaults); ``output.gripper_targets`` turns the output off. The hysteresis state is kept per track id
(per side when tracking is off). ``output.target_frame`` (empty = the camera optical frame): the wrist
poses are expressed in that frame, from ``/tf`` + ``/tf_static`` (subscribed here, interpolated as tf2
does, a sample up to ``output.tf_tolerance_s`` old is held); an image whose transform is missing gets no
GripperTargetArray, counted in ``transform_missing`` by reason and logged (never an identity).
Wiring in the node: ``GripperTargetOutput.create(node, settings)`` and ``.publish(estimates, header)``
next to the HandArray.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
from geometry_msgs.msg import Point, Pose, Quaternion
from scipy.spatial.transform import Rotation

from wildhands_core.estimate import HandEstimate
from wildhands_core.gripper import GripperConfig, GripperTracker
from wildhands_core.handedness import Handedness
from wildhands_core.stamps import stamp_to_ns
from wildhands_core.transforms import TransformBuffer, TransformError
from wildhands_offline.hand_fields import wrist_pose
from wildhands_ros.msg import GripperTarget, GripperTargetArray

#: (parameter, GripperConfig field) of the node's gripper.* parameters.
PARAMETERS = (
    ("gripper.closed_aperture_m", "closed_aperture_m"),
    ("gripper.open_aperture_m", "open_aperture_m"),
    ("gripper.close_below_m", "close_below_m"),
    ("gripper.open_above_m", "open_above_m"),
)
TOPIC = "~/gripper_targets"


def gripper_config(settings) -> GripperConfig:
    """GripperConfig from the node settings (ValueError with the offending values when inconsistent)."""
    return GripperConfig(**{f: float(settings[p]) for p, f in PARAMETERS})


def _key(est: HandEstimate) -> int:
    return int(est.track_id) if est.track_id >= 0 else -1 - int(est.is_right)  # side keys: -1, -2


def gripper_target_array(tracker: GripperTracker, estimates: Sequence[HandEstimate], header,
                         to_frame: tuple[str, Rotation, np.ndarray] | None = None) -> GripperTargetArray:
    """One GripperTargetArray for one image: wrist poses in ``header.frame_id`` (the camera frame), or with
    ``to_frame`` = (frame, R, t) in that frame (p_frame = R p_camera + t)."""
    stamp_ns = stamp_to_ns(header.stamp)
    out = GripperTargetArray(header=header)
    if to_frame is not None:
        out.header = type(header)(stamp=header.stamp, frame_id=to_frame[0])
    for est in estimates:
        g = tracker.update(_key(est), est.joints_m, stamp_ns)
        p, q = wrist_pose(est)
        if to_frame is not None:
            _, R, t = to_frame
            p, q = R.apply(p) + t, (R * Rotation.from_quat(q)).as_quat(canonical=True)
        out.targets.append(GripperTarget(
            handedness=int(Handedness.of(est.is_right)), track_id=int(est.track_id),
            confidence=float(est.confidence), aperture_m=float(g.aperture_m), closed=bool(g.closed),
            command=float(g.command),
            wrist_pose=Pose(position=Point(x=float(p[0]), y=float(p[1]), z=float(p[2])),
                            orientation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                                   w=float(q[3]))),
        ))
    return out


class GripperTargetOutput:
    """Publisher + hysteresis state of ``~/gripper_targets`` (+ the TF input for ``output.target_frame``)."""

    def __init__(self, node, cfg: GripperConfig, target_frame: str = "", tf_tolerance_s: float = 0.1,
                 make_publisher=None) -> None:
        """``make_publisher(msg_type, topic, depth)``: how to create the publisher (e.g. a lifecycle
        node's ``create_lifecycle_publisher``); default ``node.create_publisher``."""
        self.node = node
        self.tracker = GripperTracker(cfg)
        self.pub = (make_publisher or node.create_publisher)(GripperTargetArray, TOPIC, 10)
        self.subscriptions: list = []
        self.target_frame = target_frame.lstrip("/")
        self.transform_missing: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.tf = None
        if self.target_frame:
            from rclpy.qos import DurabilityPolicy, QoSProfile
            from tf2_msgs.msg import TFMessage

            self.tf = TransformBuffer(max_extrapolation_s=tf_tolerance_s, max_gap_s=1.0, cache_s=10.0)
            latched = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)
            live = QoSProfile(depth=100)
            self.subscriptions = [
                node.create_subscription(TFMessage, "/tf", lambda m: self._on_tf(m, False), live),
                node.create_subscription(TFMessage, "/tf_static", lambda m: self._on_tf(m, True), latched),
            ]

    @classmethod
    def create(cls, node, settings, make_publisher=None) -> GripperTargetOutput | None:
        """None when ``output.gripper_targets`` is false."""
        if not settings["output.gripper_targets"]:
            return None
        return cls(node, gripper_config(settings), str(settings["output.target_frame"]),
                   float(settings["output.tf_tolerance_s"]), make_publisher)

    def destroy(self) -> None:
        """Remove the TF subscriptions (the publisher is the node's to destroy)."""
        for sub in self.subscriptions:
            self.node.destroy_subscription(sub)
        self.subscriptions = []

    def _on_tf(self, msg, static: bool) -> None:
        with self._lock:
            for tr in msg.transforms:
                tl, q = tr.transform.translation, tr.transform.rotation
                try:
                    self.tf.add(tr.header.frame_id.lstrip("/"), tr.child_frame_id.lstrip("/"),
                                stamp_to_ns(tr.header.stamp), [tl.x, tl.y, tl.z], [q.x, q.y, q.z, q.w],
                                static)
                except ValueError:
                    self.transform_missing["invalid_tf"] += 1

    def publish(self, estimates: Sequence[HandEstimate], header) -> None:
        to_frame = None
        if self.tf is not None:
            try:
                with self._lock:
                    R, t = self.tf.lookup(self.target_frame, header.frame_id.lstrip("/"),
                                          stamp_to_ns(header.stamp))
            except TransformError as exc:
                self.transform_missing[exc.reason] += 1
                self.node.get_logger().warning(f"gripper targets not published: {exc}",
                                               throttle_duration_sec=5.0)
                return
            to_frame = (self.target_frame, R, t)
        self.pub.publish(gripper_target_array(self.tracker, estimates, header, to_frame))


__all__ = ["PARAMETERS", "TOPIC", "GripperTargetOutput", "gripper_config", "gripper_target_array"]
