"""The node's ``~/gripper_targets`` output: per published hand a ``wildhands_ros/GripperTarget`` (pinch
aperture, open/closed with hysteresis, [0, 1] command, wrist pose), from ``wildhands_core.gripper``.

Parameters ``gripper.*`` (metres; ``wildhands_core.gripper.GripperConfig`` holds the mapping and its
defaults); ``output.gripper_targets`` turns the output off. The hysteresis state is kept per track id
(per side when tracking is off). Wiring in the node: ``GripperTargetOutput.create(node, settings)`` and
``.publish(estimates, header)`` next to the HandArray.
"""

from __future__ import annotations

from collections.abc import Sequence

from geometry_msgs.msg import Point, Pose, Quaternion

from wildhands_core.estimate import HandEstimate
from wildhands_core.gripper import GripperConfig, GripperTracker
from wildhands_ros.conversions import stamp_to_ns
from wildhands_ros.hand_fields import RIGHT, wrist_pose
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


def gripper_target_array(tracker: GripperTracker, estimates: Sequence[HandEstimate],
                         header) -> GripperTargetArray:
    """One GripperTargetArray (wrist poses in ``header.frame_id``, the camera frame) for one image."""
    stamp_ns = stamp_to_ns(header.stamp)
    out = GripperTargetArray(header=header)
    for est in estimates:
        g = tracker.update(_key(est), est.joints_m, stamp_ns)
        p, q = wrist_pose(est)
        out.targets.append(GripperTarget(
            handedness=RIGHT if est.is_right else 0, track_id=int(est.track_id),
            confidence=float(est.confidence), aperture_m=float(g.aperture_m), closed=bool(g.closed),
            command=float(g.command),
            wrist_pose=Pose(position=Point(x=float(p[0]), y=float(p[1]), z=float(p[2])),
                            orientation=Quaternion(x=float(q[0]), y=float(q[1]), z=float(q[2]),
                                                   w=float(q[3]))),
        ))
    return out


class GripperTargetOutput:
    """Publisher + hysteresis state of ``~/gripper_targets``."""

    def __init__(self, node, cfg: GripperConfig) -> None:
        self.tracker = GripperTracker(cfg)
        self.pub = node.create_publisher(GripperTargetArray, TOPIC, 10)

    @classmethod
    def create(cls, node, settings) -> GripperTargetOutput | None:
        """None when ``output.gripper_targets`` is false."""
        return cls(node, gripper_config(settings)) if settings["output.gripper_targets"] else None

    def publish(self, estimates: Sequence[HandEstimate], header) -> None:
        self.pub.publish(gripper_target_array(self.tracker, estimates, header))


__all__ = ["PARAMETERS", "TOPIC", "GripperTargetOutput", "gripper_config", "gripper_target_array"]
