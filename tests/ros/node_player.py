"""Publisher process for the hands-node DDS tests: plays images + CameraInfo + external boxes.

    python tests/ros/node_player.py --scenario good --frames 5 --ns /cam --node /hands

Every image is 320x240, frame ``cam_optical``, stamped with the wall clock at sending; CameraInfo and a
``HandBoxArray`` (a right hand and a left hand) with the same stamp are published BEFORE the image. For
frames the node must answer (``good``), the player waits until the node's HandArray with that stamp has
arrived (bounded wait), so the node's mailbox never drops a good frame. Scenarios:

- ``good``: N good frames.
- ``bad``: each bad input of ``BAD_CASES`` followed by one good frame.
- ``burst``: N frames sent every ``--period`` s without waiting (faster than inference), then one good
  frame waited for.

Prints one JSON line: ``{"good": [stamp_ns...], "bad": {reason: count}, "sent": n, "burst": [stamp_ns...]}``.
Exit 0, or 3 with a message when the node did not answer a good frame in time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np
import rclpy
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from wildhands_ros.msg import HandArray, HandBoxArray

from wildhands_core.stamps import ns_to_sec_nanosec, stamp_to_ns

W, H = 320, 240
FRAME = "cam_optical"
K = [300.0, 0.0, 159.5, 0.0, 300.0, 119.5, 0.0, 0.0, 1.0]
BOXES = [60.0, 70.0, 140.0, 170.0, 180.0, 70.0, 260.0, 170.0]  # right then left, pixels
QOS = QoSProfile(depth=20, reliability=QoSReliabilityPolicy.RELIABLE, durability=QoSDurabilityPolicy.VOLATILE)
#: Bad inputs the node must reject, with the diagnostics reason each must produce.
BAD_CASES = (
    ("wrong_encoding", "encoding"),
    ("step_mismatch", "step"),
    ("empty_image", "empty_image"),
    ("camera_info_missing", "camera_info_missing"),
    ("zero_K", "camera_info_focal"),
    ("nan_K", "camera_info_focal"),
    ("size_mismatch", "camera_info_size"),
    ("duplicate_stamp", "duplicate_stamp"),
    ("backwards_stamp", "stamp_backwards"),
)


def _stamp(ns: int):
    from builtin_interfaces.msg import Time

    sec, nanosec = ns_to_sec_nanosec(ns)
    return Time(sec=sec, nanosec=nanosec)


def frame_messages(k: int, stamp_ns: int | None = None) -> tuple[Image, CameraInfo, HandBoxArray]:
    """Frame ``k`` for a node driven in process: a random rgb8 image (seeded by ``k``), its CameraInfo and
    the two external boxes (right, left), all three stamped ``stamp_ns`` (default: now) in ``FRAME``."""
    stamp = time.time_ns() if stamp_ns is None else stamp_ns
    rgb = np.random.default_rng(k).integers(0, 255, (H, W, 3), dtype=np.uint8)
    img = Image(width=W, height=H, encoding="rgb8", step=W * 3, data=rgb.tobytes())
    info = CameraInfo(width=W, height=H, k=K)
    boxes = HandBoxArray(boxes_xyxy_px=BOXES, handedness=[1, 0], scores=[0.9, 0.9])
    for m in (img, info, boxes):
        m.header.stamp = _stamp(stamp)
        m.header.frame_id = FRAME
    return img, info, boxes


class NotMatchedError(RuntimeError):
    """The node's subscriptions never matched the player's publishers."""


class Player:
    """Publishers of the camera (image, CameraInfo) and the external detector (boxes); records the stamps
    of the HandArrays the node answers with (``arrays``: stamp -> message)."""

    def __init__(self, ns: str, node_name: str, buffer: int) -> None:
        self.node = rclpy.create_node("hands_test_player")
        self.img_pub = self.node.create_publisher(Image, f"{ns}/image_raw", QOS)
        self.info_pub = self.node.create_publisher(CameraInfo, f"{ns}/camera_info", QOS)
        self.box_pub = self.node.create_publisher(HandBoxArray, "/hand_boxes", QOS)
        self.arrays: dict[int, HandArray] = {}
        self.node.create_subscription(HandArray, f"{node_name}/hands", self._on_hands, QOS)
        self.buffer = buffer
        self.last_ns = 0
        self.rng = np.random.default_rng(0)

    def _on_hands(self, m: HandArray) -> None:
        self.arrays[stamp_to_ns(m.header.stamp)] = m

    def wait_matched(self, timeout_s: float) -> None:
        """Spin until the node subscribes to all three inputs (``NotMatchedError`` after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while any(pub.get_subscription_count() == 0 for pub in (self.img_pub, self.info_pub, self.box_pub)):
            if time.monotonic() > deadline:
                raise NotMatchedError("the node's subscriptions never matched")
            rclpy.spin_once(self.node, timeout_sec=0.05)
        self.pause(0.3)

    def wait_answer(self, ns: int, timeout_s: float, what: str = "the frame") -> HandArray:
        """The node's HandArray stamped ``ns`` (``TimeoutError`` when none came within ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while ns not in self.arrays:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no HandArray for {what} stamped {ns} within {timeout_s} s")
            rclpy.spin_once(self.node, timeout_sec=0.02)
        return self.arrays[ns]

    def next_stamp(self) -> int:
        ns = max(time.time_ns(), self.last_ns + 1_000_000)
        self.last_ns = ns
        return ns

    def image(
        self,
        ns: int,
        frame: str = FRAME,
        encoding: str = "rgb8",
        step: int | None = None,
        empty: bool = False,
    ) -> Image:
        ch = {"rgb8": 3, "mono16": 2}.get(encoding, 3)
        msg = Image(
            height=0 if empty else H,
            width=0 if empty else W,
            encoding=encoding,
            step=(step if step is not None else W * ch) if not empty else 0,
        )
        if not empty:
            msg.data = self.rng.integers(0, 255, H * msg.step, dtype=np.uint8).tobytes()
        msg.header.stamp = _stamp(ns)
        msg.header.frame_id = frame
        return msg

    def info(self, ns: int, k=None, width: int = W, frame: str = FRAME) -> CameraInfo:
        msg = CameraInfo(width=width, height=H, k=list(k or K))
        msg.p = [msg.k[0], 0.0, msg.k[2], 0.0, 0.0, msg.k[4], msg.k[5], 0.0, 0.0, 0.0, 1.0, 0.0]
        msg.header.stamp = _stamp(ns)
        msg.header.frame_id = frame
        return msg

    def boxes(self, ns: int) -> HandBoxArray:
        msg = HandBoxArray(
            boxes_xyxy_px=BOXES, handedness=[HandBoxArray.RIGHT, HandBoxArray.LEFT], scores=[0.9, 0.8]
        )
        msg.header.stamp = _stamp(ns)
        msg.header.frame_id = FRAME
        return msg

    def send(
        self, image: Image | None, info: CameraInfo | None = None, boxes: HandBoxArray | None = None
    ) -> None:
        if boxes is not None:
            self.box_pub.publish(boxes)
        if info is not None:
            self.info_pub.publish(info)
        if boxes is not None or info is not None:
            self.pause(0.03)  # side inputs first, as a camera driver + detector would
        if image is not None:
            self.img_pub.publish(image)

    def pause(self, s: float) -> None:
        end = time.monotonic() + s
        while time.monotonic() < end:
            rclpy.spin_once(self.node, timeout_sec=0.01)

    def good(self, timeout_s: float, ns: int | None = None) -> int:
        ns = self.next_stamp() if ns is None else ns
        self.send(self.image(ns), self.info(ns), self.boxes(ns))
        self.wait_answer(ns, timeout_s, "the good frame")
        return ns

    def bad(self, case: str) -> None:
        prev = self.last_ns  # the previous good frame's stamp
        ns = self.next_stamp()
        if case == "wrong_encoding":
            self.send(self.image(ns, encoding="mono16"), self.info(ns), self.boxes(ns))
        elif case == "step_mismatch":
            img = self.image(ns)
            img.step = W * 3 + 16  # claims padded rows, but the buffer holds unpadded ones
            self.send(img, self.info(ns), self.boxes(ns))
        elif case == "empty_image":
            self.send(self.image(ns, empty=True), self.info(ns), self.boxes(ns))
        elif case == "camera_info_missing":
            for _ in range(self.buffer + 1):  # a camera that never sent a CameraInfo; the buffer overflows
                self.send(self.image(self.next_stamp(), frame="cam_without_info"))
                self.pause(0.02)
        elif case == "zero_K":
            self.send(None, self.info(ns, k=[0.0] * 9))
        elif case == "nan_K":
            self.send(None, self.info(ns, k=[float("nan")] * 9))
        elif case == "size_mismatch":
            self.send(self.image(ns), self.info(ns, width=2 * W), self.boxes(ns))
        elif case == "duplicate_stamp":
            dup = prev
            self.send(self.image(dup), self.info(dup), self.boxes(dup))
        elif case == "backwards_stamp":
            back = prev - 50_000_000
            self.send(self.image(back), self.info(back), self.boxes(back))
        else:
            raise ValueError(case)
        self.pause(0.2)


def play(player: Player, out: dict, timeout_s: float, scenario: Callable[[], None]) -> int:
    """Wait for the node's subscriptions, run ``scenario`` (it fills ``out``), print ``out`` as one JSON line
    and shut down. Exit status 0, or 3 with a message when the node did not match or answer in time."""
    try:
        player.wait_matched(timeout_s)
        scenario()
    except NotMatchedError as exc:
        print(f"player: {exc}", file=sys.stderr)
        return 3
    except TimeoutError as exc:
        print(f"player: {exc}", file=sys.stderr)
        print(json.dumps(out), flush=True)
        return 3
    player.pause(0.3)
    print(json.dumps(out), flush=True)
    player.node.destroy_node()
    rclpy.shutdown()
    return 0


def player_arguments() -> argparse.ArgumentParser:
    """The options every player takes: camera namespace, node name, answer timeout (s)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="/cam")
    ap.add_argument("--node", default="/hands")
    ap.add_argument("--timeout", type=float, default=30.0)
    return ap


def main() -> int:
    ap = player_arguments()
    ap.add_argument("--scenario", choices=["good", "bad", "burst"], default="good")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--period", type=float, default=0.05)
    ap.add_argument("--buffer", type=int, default=2)
    a = ap.parse_args()
    rclpy.init()
    p = Player(a.ns, a.node, a.buffer)
    out: dict = {"good": [], "bad": {}, "burst": [], "sent": 0}

    def scenario() -> None:
        if a.scenario == "good":
            out["good"] = [p.good(a.timeout) for _ in range(a.frames)]
        elif a.scenario == "bad":
            out["good"].append(p.good(a.timeout))
            for case, reason in BAD_CASES:
                p.bad(case)
                out["bad"][reason] = out["bad"].get(reason, 0) + 1
                out["good"].append(p.good(a.timeout))
        else:
            for _ in range(a.frames):
                ns = p.next_stamp()
                p.send(p.image(ns), p.info(ns), p.boxes(ns))
                out["burst"].append(ns)
                p.pause(a.period)
            out["good"].append(p.good(a.timeout))

    return play(p, out, a.timeout, scenario)


if __name__ == "__main__":
    sys.exit(main())
