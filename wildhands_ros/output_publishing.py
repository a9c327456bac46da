"""What the hands node publishes per frame: ``~/hands``, ``~/hands_raw``, ``/tf``, ``~/markers``,
``~/debug_image``, the gripper targets and the robot-hand joint states, every header = the input image's
(its stamp and camera optical frame, never "now"). /diagnostics is published by the node itself (in every
configured state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from wildhands_core.estimate import HandEstimate
from wildhands_ros import conversions as conv
from wildhands_ros import params
from wildhands_ros.gripper_targets import GripperTargetOutput
from wildhands_ros.msg import HandArray
from wildhands_ros.robot_hand_output import RobotHandOutput

#: QoS tf2_ros's TransformBroadcaster uses on /tf.
TF_QOS = QoSProfile(
    depth=100,
    reliability=QoSReliabilityPolicy.RELIABLE,
    durability=QoSDurabilityPolicy.VOLATILE,
    history=QoSHistoryPolicy.KEEP_LAST,
)


class FrameOutputs:
    """The per-frame publishers of ``node`` (lifecycle publishers: they publish only while the node is
    active; the TF publisher is a plain one, as tf2_ros's), created from the ``output.*``, ``tf.*`` and
    ``gripper.*``, ``retargeting.*`` parameters. Disabled outputs are None."""

    def __init__(self, node: Any, settings: params.NodeSettings, faces: np.ndarray | None) -> None:
        s = settings
        self._node = node
        self._settings = settings
        self._faces = faces  # (F, 3) MANO faces for the mesh marker, or None
        self._lifecycle_pubs: list = []
        self._plain_pubs: list = []
        self.hands_pub = self._lifecycle(HandArray, "~/hands", 10)
        self.markers_pub = self._lifecycle(MarkerArray, "~/markers", 5) if s["output.markers"] else None
        self.raw_pub = self._lifecycle(HandArray, "~/hands_raw", 10) if s["output.publish_raw"] else None
        self.debug_pub = self._lifecycle(Image, "~/debug_image", 2) if s["output.debug_image"] else None
        self.tf_send: Callable[[list], None] | None = self._make_tf_sender() if s["tf.publish"] else None
        self.gripper_out = GripperTargetOutput.create(node, s, make_publisher=self._lifecycle)
        self.robot_hand_out = RobotHandOutput.create(s, make_publisher=self._lifecycle)

    def _lifecycle(self, msg_type, topic: str, depth: int):
        pub = self._node.create_lifecycle_publisher(msg_type, topic, depth)
        self._lifecycle_pubs.append(pub)
        return pub

    def _make_tf_sender(self) -> Callable[[list], None] | None:
        """tf2_ros's broadcaster where importable, else a plain /tf publisher of TFMessage (same QoS)."""
        try:
            from tf2_ros import TransformBroadcaster

            broadcaster = TransformBroadcaster(self._node)
            if getattr(broadcaster, "pub_tf", None) is not None:
                self._plain_pubs.append(broadcaster.pub_tf)
            return broadcaster.sendTransform
        except ImportError:
            pass
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError:
            self._node.get_logger().warning("neither tf2_ros nor tf2_msgs is importable: TF is not published")
            return None
        pub = self._node.create_publisher(TFMessage, "/tf", TF_QOS)
        self._plain_pubs.append(pub)
        return lambda transforms: pub.publish(TFMessage(transforms=list(transforms)))

    def publish(
        self,
        header: Header,
        image: np.ndarray,
        estimates: list[HandEstimate],
        raw: list[HandEstimate],
        latency_ms: float,
    ) -> bool:
        """Publish the outputs of one frame (``image`` (H, W, 3) RGB as the network saw it, ``raw`` the
        estimates before tracking/smoothing); False when nothing was published (no hand and
        ``output.publish_empty`` off)."""
        s = self._settings
        if not estimates and not s["output.publish_empty"]:
            if self.robot_hand_out is not None:  # also on frames without hands: lost tracks are forgotten
                self.robot_hand_out.publish(estimates, header)
            return False
        header = Header(stamp=header.stamp, frame_id=header.frame_id)
        size = (image.shape[1], image.shape[0])
        self.hands_pub.publish(
            conv.estimates_to_hand_array(
                estimates, header, size, latency_ms, with_vertices=bool(s["model.publish_mesh"])
            )
        )
        if self.raw_pub is not None:
            self.raw_pub.publish(conv.estimates_to_hand_array(raw, header, size, latency_ms))
        if self.tf_send is not None and estimates:
            self.tf_send(
                conv.estimates_to_transforms(
                    estimates, header, s["tf.frame_prefix"], bool(s["tf.fingertips"])
                )
            )
        if self.gripper_out is not None:
            self.gripper_out.publish(estimates, header)
        if self.markers_pub is not None:
            self.markers_pub.publish(conv.estimates_to_markers(estimates, header, self._faces))
        if self.robot_hand_out is not None:  # after the hands: they do not wait for the optimiser
            self.robot_hand_out.publish(estimates, header)
        if self.debug_pub is not None:
            self.debug_pub.publish(conv.rgb_to_image_msg(conv.draw_hands(image, estimates), header))
        return True

    def destroy(self) -> None:
        """Destroy every publisher (and the gripper output's TF listener)."""
        for pub in self._lifecycle_pubs:
            self._node.destroy_lifecycle_publisher(pub)
        for pub in self._plain_pubs:
            self._node.destroy_publisher(pub)
        self._lifecycle_pubs, self._plain_pubs = [], []
        self.hands_pub = self.markers_pub = self.raw_pub = self.debug_pub = None
        self.tf_send = None
        if self.gripper_out is not None:
            self.gripper_out.destroy()
        self.gripper_out = None
        self.robot_hand_out = None
