"""The demo's ROS side: a player of images + CameraInfo and a recorder of the node's outputs (rclpy, real
DDS), writing a rosbag2 MCAP file with ``rosbags``; and the reading of that bag back.

Recorded topics (serialized CDR as received, so the bag holds exactly what went over the wire):
``/demo/hands/hands`` (HandArray, smoothed), ``/demo/hands/hands_raw`` (HandArray, before smoothing),
``/tf``, ``/demo/hands/markers`` (MarkerArray) and ``/diagnostics``; with a robot hand (``--robot-hand``)
also ``/demo/hands/robot_hand/{left,right}/joint_states`` (sensor_msgs/JointState).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from wildhands_core.constants import SKELETON_EDGES
from wildhands_core.handedness import Handedness
from wildhands_core.stamps import ns_to_sec_nanosec, stamp_to_ns

HANDS_TOPIC = "/demo/hands/hands"
RAW_TOPIC = "/demo/hands/hands_raw"
RECORDED = {
    HANDS_TOPIC: "wildhands_ros/msg/HandArray",
    RAW_TOPIC: "wildhands_ros/msg/HandArray",
    "/tf": "tf2_msgs/msg/TFMessage",
    "/demo/hands/markers": "visualization_msgs/msg/MarkerArray",
    "/diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}
#: The robot-hand outputs of the node (``retargeting.robot``), recorded when the demo runs one.
ROBOT_HAND_TOPICS = {
    f"/demo/hands/robot_hand/{side}/joint_states": "sensor_msgs/msg/JointState" for side in ("left", "right")
}


@dataclass
class Played:
    stamp_to_index: dict[int, int]
    duration_s: float
    #: messages recorded per topic (filled in when the recording ends)
    counts: dict[str, int] = field(default_factory=dict)


class DemoStream:
    """Publishes frames on /demo/camera/{image_raw,camera_info} and records the node's outputs."""

    def __init__(self, bag_dir: Path, K_px: np.ndarray, width: int, height: int,
                 robot_hand: bool = False) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from rosbags.rosbag2 import StoragePlugin, Writer
        from sensor_msgs.msg import CameraInfo, Image, JointState
        from tf2_msgs.msg import TFMessage
        from visualization_msgs.msg import MarkerArray

        from wildhands_offline.types import make_typestore
        from wildhands_ros.msg import HandArray

        self._rclpy = rclpy
        if not rclpy.ok():
            rclpy.init()
        self.node = rclpy.create_node("wildhands_demo_player")
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.image_pub = self.node.create_publisher(Image, "/demo/camera/image_raw", reliable)
        self.info_pub = self.node.create_publisher(CameraInfo, "/demo/camera/camera_info", reliable)
        self.K = np.asarray(K_px, dtype=float)
        self._k = self.K.reshape(-1).tolist()  # CameraInfo k and p (the same for every frame)
        self._p = np.hstack([self.K, np.zeros((3, 1))]).reshape(-1).tolist()
        self.width, self.height = width, height
        self._Image, self._CameraInfo = Image, CameraInfo
        self.typestore = make_typestore()
        # metadata version 8: the oldest rosbags writes (Jazzy and later read it; Humble's rosbag2 knows up
        # to version 5: there, open the .mcap file itself)
        self.writer = Writer(bag_dir, version=8, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self._lock = threading.Lock()
        self.recorded = {**RECORDED, **(ROBOT_HAND_TOPICS if robot_hand else {})}
        self.counts: dict[str, int] = {t: 0 for t in self.recorded}
        self.last_hands_time = time.monotonic()
        types = {
            "wildhands_ros/msg/HandArray": HandArray,
            "tf2_msgs/msg/TFMessage": TFMessage,
            "visualization_msgs/msg/MarkerArray": MarkerArray,
            "diagnostic_msgs/msg/DiagnosticArray": DiagnosticArray,
            "sensor_msgs/msg/JointState": JointState,
        }
        tf_qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.connections = {}
        for topic, msgtype in self.recorded.items():
            self.connections[topic] = self.writer.add_connection(topic, msgtype, typestore=self.typestore)
            qos = tf_qos if topic == "/tf" else reliable
            self.node.create_subscription(types[msgtype], topic, self._recorder(topic), qos, raw=True)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._spin = threading.Thread(target=self.executor.spin, daemon=True)
        self._spin.start()

    def _recorder(self, topic: str):
        conn = self.connections[topic]

        def cb(data: bytes) -> None:
            with self._lock:
                self.writer.write(conn, time.time_ns(), bytes(data))
                self.counts[topic] += 1
                if topic == HANDS_TOPIC:
                    self.last_hands_time = time.monotonic()

        return cb

    def wait_for_node(self, timeout_s: float, node_proc=None) -> bool:
        """True once the node subscribes to the image and CameraInfo topics and publishes hands (a frame
        played before the CameraInfo subscription matched would wait for a CameraInfo that never comes).

        Meanwhile the camera's CameraInfo is published every 0.1 s, as a running camera driver does, and
        for 0.5 s after the node is found: the node knows the calibration before the first image, so a
        late first CameraInfo cannot get the first images rejected (``camera_info_missing``)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            if node_proc is not None and node_proc.poll() is not None:
                return False
            if self.info_pub.get_subscription_count() > 0:
                self._publish_camera_info_now()
            if (self.image_pub.get_subscription_count() > 0 and self.info_pub.get_subscription_count() > 0
                    and self.node.count_publishers(HANDS_TOPIC) > 0):
                for _ in range(5):
                    time.sleep(0.1)
                    self._publish_camera_info_now()
                return True
            time.sleep(0.1)
        return False

    def _publish_camera_info_now(self) -> None:
        self.info_pub.publish(self._camera_info(self.node.get_clock().now().nanoseconds))

    def _camera_info(self, stamp_ns: int):
        info = self._CameraInfo(
            height=self.height,
            width=self.width,
            distortion_model="plumb_bob",
            d=[0.0] * 5,
            k=self._k,
            r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
            p=self._p,
        )
        info.header.stamp.sec, info.header.stamp.nanosec = ns_to_sec_nanosec(stamp_ns)
        info.header.frame_id = "demo_camera_optical_frame"
        return info

    def _messages(self, image: np.ndarray, stamp_ns: int):
        img = self._Image(
            height=self.height,
            width=self.width,
            encoding="rgb8",
            is_bigendian=0,
            step=self.width * 3,
            data=image.tobytes(),
        )
        img.header.stamp.sec, img.header.stamp.nanosec = ns_to_sec_nanosec(stamp_ns)
        img.header.frame_id = "demo_camera_optical_frame"
        return img, self._camera_info(stamp_ns)

    def play(self, frames: list[np.ndarray], rate_hz: float, progress: bool = True) -> Played:
        """Publish every frame at ``rate_hz``, stamped with the node clock at publication."""
        from tqdm import tqdm

        period = 1.0 / rate_hz
        stamps: dict[int, int] = {}
        t0 = time.monotonic()
        it = tqdm(
            enumerate(frames),
            total=len(frames),
            desc=f"playing at {rate_hz:.0f} Hz",
            unit="frame",
            disable=not progress,
        )
        for i, image in it:
            target = t0 + i * period
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamp_ns = self.node.get_clock().now().nanoseconds
            img, info = self._messages(image, stamp_ns)
            self.info_pub.publish(info)
            self.image_pub.publish(img)
            stamps[stamp_ns] = i
            if progress:
                it.set_postfix(published=self.counts[HANDS_TOPIC])
        return Played(stamps, time.monotonic() - t0)

    def drain(self, expected: int, timeout_s: float, quiet_s: float = 3.0) -> None:
        """Wait until the node's last answers arrive (or it has been quiet for ``quiet_s``)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            if self.counts[HANDS_TOPIC] >= expected or time.monotonic() - self.last_hands_time > quiet_s:
                break
            time.sleep(0.1)
        time.sleep(1.2)  # one more diagnostics period

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        with self._lock:
            self.writer.close()


@dataclass
class Recorded:
    published: dict[int, dict] = field(default_factory=dict)
    raw: dict[int, dict] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    recorded: int = 0
    dropped_by_node: int = 0
    #: The node's last reported counters (``frames_received``, ``frames_published``, ``frames_failed``,
    #: ``rejected_total``, ...), from /diagnostics.
    node_counts: dict[str, int] = field(default_factory=dict)
    backend: str = ""
    mano_model: str = ""


def _hands_of(msg) -> dict:
    out = {}
    for h in msg.hands:
        side = Handedness(int(h.handedness)).label
        out[side] = {
            "joints_m": np.asarray(h.joints_m, dtype=float).reshape(21, 3),
            "keypoints_px": np.asarray(h.keypoints_px, dtype=float).reshape(21, 2),
            "track_id": int(h.track_id),
        }
    return out


def read_demo_bag(bag_dir: Path, stamp_to_index: dict[int, int]) -> Recorded:
    """Decode the recorded bag: hands per played frame (by image stamp), latencies, node counters."""
    from rosbags.rosbag2 import Reader

    from wildhands_offline.types import make_typestore

    ts = make_typestore()
    rec = Recorded()
    with Reader(bag_dir) as reader:
        for conn, _, data in reader.messages():
            msg = ts.deserialize_cdr(data, conn.msgtype)
            if conn.topic in (HANDS_TOPIC, RAW_TOPIC):
                stamp = stamp_to_ns(msg.header.stamp)
                if stamp not in stamp_to_index:
                    continue
                target = rec.published if conn.topic == HANDS_TOPIC else rec.raw
                target[stamp_to_index[stamp]] = _hands_of(msg)
                if conn.topic == HANDS_TOPIC:
                    rec.recorded += 1
                    rec.latencies_ms.append(float(msg.latency_ms))
            elif conn.topic == "/diagnostics":
                for status in msg.status:
                    values = {kv.key: kv.value for kv in status.values}
                    if "frames_dropped" in values:
                        rec.dropped_by_node = int(values["frames_dropped"])
                        rec.node_counts = {
                            k: int(v) for k, v in values.items()
                            if (k.startswith("frames_") or k == "rejected_total") and v.isdigit()
                        }
                        rec.backend = values.get("backend", rec.backend)
                        rec.mano_model = values.get("mano_model", rec.mano_model)
    return rec


def _draw(img: np.ndarray, kp: np.ndarray, color: tuple[int, int, int], thickness: int) -> None:
    for a, b in SKELETON_EDGES:
        pa, pb = tuple(round(v) for v in kp[a]), tuple(round(v) for v in kp[b])
        cv2.line(img, pa, pb, color, thickness, cv2.LINE_AA)
    for p in kp:
        cv2.circle(img, tuple(round(v) for v in p), thickness + 1, color, -1, cv2.LINE_AA)


def write_overlay(
    path: Path, frames: list[np.ndarray], published: dict[int, dict], truth: dict, count: int = 6
) -> None:
    """A 2-row PNG strip: truth skeleton (white) and the node's published hands (green right, orange left)."""
    idx = sorted(published)
    if not idx:
        idx = list(range(len(frames)))
    pick = [idx[round(j)] for j in np.linspace(0, len(idx) - 1, min(count, len(idx)))]
    tiles = []
    for i in pick:
        img = cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR).copy()
        for slot in (0, 1):
            if truth["present"][i, slot]:
                _draw(img, truth["keypoints_px"][i, slot], (255, 255, 255), 1)
        for side, color in (("right", (60, 220, 60)), ("left", (40, 160, 255))):
            if side in published.get(i, {}):
                _draw(img, published[i][side]["keypoints_px"], color, 2)
        cv2.putText(
            img, f"frame {i}", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2, cv2.LINE_AA
        )
        tiles.append(cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA))
    while len(tiles) % 3:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[r : r + 3]) for r in range(0, len(tiles), 3)]
    cv2.imwrite(str(path), np.vstack(rows))
