"""Publisher process of the node-robustness DDS tests: inputs a real robot's drivers produce.

    python tests/ros/robust_player.py CASE [--ns /cam --node /hands --timeout S]

Cases (each ends with one good frame the node must answer, so the node is known to go on):

- ``image_first``: 3 frames published image first, then its CameraInfo (image_transport's CameraPublisher
  order), each CameraInfo with a different fx; then a camera that never sends a CameraInfo (2 images).
- ``distorted``: 3 frames with a ``plumb_bob`` CameraInfo (k1 = -0.2) and the usual external boxes.
- ``bad_headers``: an image with an empty frame_id, one stamped 0, one a day ahead, one a minute back (a
  time jump), a CameraInfo with a NaN off the diagonal of K, an image over ``input.max_image_pixels``.
- ``resize``: a 640x480 frame (image first, then its CameraInfo) after the 320x240 ones.
- ``flood``: a good frame, ``--count`` frames published back to back (no pause), then a good one.

Prints one JSON line: {"answered": {stamp_ns: [width, height, fx_used...]}, "sent_images": n, ...}.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import rclpy
from node_player import H, Player, W, play, player_arguments
from wildhands_ros.msg import HandArray

S = 1_000_000_000


class RobustPlayer(Player):
    def __init__(self, ns: str, node_name: str) -> None:
        super().__init__(ns, node_name, 2)
        self.sent_images = 0

    def publish_image(self, img) -> None:
        self.sent_images += 1
        self.img_pub.publish(img)

    def good_frame(self, timeout_s: float) -> int:
        ns = self.next_stamp()
        self.box_pub.publish(self.boxes(ns))
        self.info_pub.publish(self.info(ns))
        self.pause(0.03)
        self.publish_image(self.image(ns))
        self.wait_answer(ns, timeout_s)
        return ns

    def image_first(self, ns: int, info, image, timeout_s: float) -> HandArray:
        self.box_pub.publish(self.boxes(ns))
        self.pause(0.02)
        self.publish_image(image)
        self.pause(0.05)  # the CameraInfo comes a little later
        self.info_pub.publish(info)
        return self.wait_answer(ns, timeout_s)


def _summary(arr: HandArray) -> dict:
    return {
        "size": [arr.image_width, arr.image_height],
        "boxes": [[float(v) for v in h.box_xyxy_px] for h in arr.hands],
        "z": [float(h.joints_m[2]) for h in arr.hands],
    }


def _scenario(p: RobustPlayer, a: argparse.Namespace, out: dict) -> None:
    """Play ``a.case`` (see the module docstring), recording into ``out``."""
    if a.case == "image_first":
        for i in range(3):
            ns = p.next_stamp()
            k = [300.0 + 50 * i, 0.0, 159.5, 0.0, 300.0 + 50 * i, 119.5, 0.0, 0.0, 1.0]
            arr = p.image_first(ns, p.info(ns, k=k), p.image(ns), a.timeout)
            out["answered"][str(ns)] = _summary(arr) | {"fx_sent": k[0]}
        for _ in range(2):
            p.publish_image(p.image(p.next_stamp(), frame="cam_without_info"))
            p.pause(0.05)
        out["lonely_sent_at"] = time.time()
    elif a.case == "distorted":
        for _ in range(3):
            ns = p.next_stamp()
            info = p.info(ns)
            info.distortion_model, info.d = "plumb_bob", [-0.2, 0.0, 0.0, 0.0, 0.0]
            p.send(p.image(ns), info, p.boxes(ns))
            out["answered"][str(ns)] = _summary(p.wait_answer(ns, a.timeout))
    elif a.case == "bad_headers":
        ns = p.next_stamp()
        p.send(p.image(ns, frame=""), p.info(ns, frame=""), p.boxes(ns))
        p.send(p.image(0), p.info(0), None)
        ahead = p.next_stamp() + 86_400 * S
        p.send(p.image(ahead), p.info(ahead), p.boxes(ahead))
        p.pause(0.1)
        ns = p.next_stamp()
        nan_k = [300.0, float("nan"), 159.5, 0.0, 300.0, 119.5, 0.0, 0.0, 1.0]
        p.send(None, p.info(ns, k=nan_k))
        p.pause(0.1)
        big = p.next_stamp()
        img = p.image(big)
        img.width, img.height, img.step = 800, 600, 800 * 3  # over the test's input.max_image_pixels
        img.data = np.zeros(800 * 600 * 3, np.uint8).tobytes()
        p.send(img, None, None)
        p.pause(0.1)
        out["before_jump"] = p.good_frame(a.timeout)
        back = p.last_ns - 60 * S  # a bag that loops: one minute back
        p.box_pub.publish(p.boxes(back))
        p.info_pub.publish(p.info(back))
        p.pause(0.03)
        p.publish_image(p.image(back))
        p.last_ns = back
        out["answered"][str(back)] = _summary(p.wait_answer(back, a.timeout))
    elif a.case == "resize":
        ns = p.next_stamp()
        img = p.image(ns)
        img.width, img.height, img.step = 2 * W, 2 * H, 2 * W * 3
        img.data = p.rng.integers(0, 255, 4 * W * H * 3, dtype=np.uint8).tobytes()
        info = p.info(ns, width=2 * W)
        info.height = 2 * H
        info.k = [600.0, 0.0, 319.5, 0.0, 600.0, 239.5, 0.0, 0.0, 1.0]
        arr = p.image_first(ns, info, img, a.timeout)
        out["answered"][str(ns)] = _summary(arr)
    elif a.case == "flood":
        out["first"] = p.good_frame(a.timeout)  # the node knows this publisher's sequence from here
        for _ in range(a.count):
            ns = p.next_stamp()
            p.info_pub.publish(p.info(ns))
            p.publish_image(p.image(ns))
    else:
        raise ValueError(a.case)
    out["good"] = p.good_frame(a.timeout)
    out["sent_images"] = p.sent_images


def main() -> int:
    ap = player_arguments()
    ap.add_argument("case")
    ap.add_argument("--count", type=int, default=30)
    a = ap.parse_args()
    rclpy.init()
    p = RobustPlayer(a.ns, a.node)
    out: dict = {"answered": {}, "case": a.case}
    return play(p, out, a.timeout, lambda: _scenario(p, a, out))


if __name__ == "__main__":
    sys.exit(main())
