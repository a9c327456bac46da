"""Stand-alone ROS 2 peers for the two-process DDS tests (run as separate OS processes).

    python tests/ros/dds_peers.py pub --count N
    python tests/ros/dds_peers.py sub --expect N --timeout S

The publisher sends, N times, a 64x48 rgb8 ``sensor_msgs/Image`` (pixel value = sequence number), a
``sensor_msgs/CameraInfo`` and a ``wildhands_ros/HandArray`` with one hand, all stamped with the same
sequence-derived stamp. The subscriber prints one JSON line per received message and exits 0 once it has
``expect`` of each type, or exits 3 with a message naming what is missing when the timeout passes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import rclpy
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from wildhands_ros.msg import Hand, HandArray

QOS = QoSProfile(depth=50, reliability=QoSReliabilityPolicy.RELIABLE, durability=QoSDurabilityPolicy.VOLATILE)


def _stamp(i: int):
    from builtin_interfaces.msg import Time

    return Time(sec=1000 + i, nanosec=500)


def publish(count: int, wait_s: float) -> int:
    rclpy.init()
    node = rclpy.create_node("dds_test_publisher")
    pubs = {
        "image": node.create_publisher(Image, "dds_test/image", QOS),
        "info": node.create_publisher(CameraInfo, "dds_test/camera_info", QOS),
        "hands": node.create_publisher(HandArray, "dds_test/hands", QOS),
    }
    deadline = time.monotonic() + wait_s
    while any(p.get_subscription_count() == 0 for p in pubs.values()):
        if time.monotonic() > deadline:
            print("publisher: no subscriber matched", file=sys.stderr)
            return 3
        rclpy.spin_once(node, timeout_sec=0.05)
    for i in range(count):
        img = Image(height=48, width=64, encoding="rgb8", step=64 * 3, data=bytes([i % 256]) * (64 * 48 * 3))
        img.header.stamp = _stamp(i)
        img.header.frame_id = "cam_optical"
        info = CameraInfo(height=48, width=64, k=[50.0, 0.0, 32.0, 0.0, 50.0, 24.0, 0.0, 0.0, 1.0])
        info.header = img.header
        hand = Hand(handedness=Hand.RIGHT, track_id=i, confidence=0.5)
        hand.joints_m[2] = 0.4 + i
        hands = HandArray(hands=[hand], image_width=64, image_height=48)
        hands.header = img.header
        pubs["image"].publish(img)
        pubs["info"].publish(info)
        pubs["hands"].publish(hands)
        time.sleep(0.02)
    time.sleep(0.5)  # let reliable delivery finish before the participant goes away
    node.destroy_node()
    rclpy.shutdown()
    return 0


def subscribe(expect: int, timeout_s: float) -> int:
    rclpy.init()
    node = rclpy.create_node("dds_test_subscriber")
    got: dict[str, list] = {"image": [], "info": [], "hands": []}

    def on_image(m: Image) -> None:
        got["image"].append(
            {"sec": m.header.stamp.sec, "frame": m.header.frame_id, "pixel": m.data[0], "size": len(m.data)}
        )

    def on_info(m: CameraInfo) -> None:
        got["info"].append({"sec": m.header.stamp.sec, "fx": m.k[0]})

    def on_hands(m: HandArray) -> None:
        got["hands"].append(
            {
                "sec": m.header.stamp.sec,
                "track_id": m.hands[0].track_id,
                "z": float(m.hands[0].joints_m[2]),
                "right": m.hands[0].handedness == Hand.RIGHT,
            }
        )

    node.create_subscription(Image, "dds_test/image", on_image, QOS)
    node.create_subscription(CameraInfo, "dds_test/camera_info", on_info, QOS)
    node.create_subscription(HandArray, "dds_test/hands", on_hands, QOS)
    print(json.dumps({"ready": True}), flush=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(len(v) < expect for v in got.values()):
        rclpy.spin_once(node, timeout_sec=0.05)
    print(json.dumps(got), flush=True)
    node.destroy_node()
    rclpy.shutdown()
    missing = {k: expect - len(v) for k, v in got.items() if len(v) < expect}
    if missing:
        print(f"subscriber: timed out after {timeout_s:.1f} s, missing messages: {missing}", file=sys.stderr)
        return 3
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["pub", "sub"])
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--expect", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=15.0)
    a = ap.parse_args()
    return publish(a.count, a.timeout) if a.role == "pub" else subscribe(a.expect, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
