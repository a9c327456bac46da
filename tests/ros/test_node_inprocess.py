"""The node's less common inputs and outputs, with the node in this process (its callbacks fed directly,
as the executor would) and a listener receiving over DDS: CompressedImage input, CameraInfo reuse, the
MANO mesh marker, the debug image."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module")
def node_and_listener(tmp_path_factory):
    import rclpy
    from node_harness import Listener, write_small_checkpoint
    from rclpy.parameter import Parameter

    from wildhands_ros.node import HandsNode

    ckpt = write_small_checkpoint(tmp_path_factory.mktemp("inproc") / "m.pt")
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    overrides = {
        "model.checkpoint": str(ckpt),
        "detector.sources": ["external"],
        "input.use_compressed": True,
        "model.publish_mesh": True,
        "output.debug_image": True,
        "tracking.min_hits": 1,
        "tracking.redetect_every_n": 1,
    }
    node = HandsNode(
        "hands_inproc", context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]
    )
    listener = Listener("/hands_inproc")
    from sensor_msgs.msg import Image

    listener.debug = []
    listener.node.create_subscription(
        Image, "/hands_inproc/debug_image", lambda m: listener._add(listener.debug, m), 10
    )
    yield node, listener
    listener.close()
    node.destroy_node()
    ctx.try_shutdown()


def _frame(stamp_ns: int):
    from builtin_interfaces.msg import Time
    from node_player import BOXES, FRAME, H, K, W
    from sensor_msgs.msg import CameraInfo, CompressedImage
    from wildhands_ros.msg import HandBoxArray

    rgb = np.random.default_rng(stamp_ns % 1000).integers(0, 255, (H, W, 3), dtype=np.uint8)
    ok, jpg = cv2.imencode(".jpg", rgb)
    assert ok
    img = CompressedImage(format="jpeg")
    img.data = jpg.tobytes()
    info = CameraInfo(width=W, height=H, k=K)
    boxes = HandBoxArray(boxes_xyxy_px=BOXES, handedness=[1, 0], scores=[0.9, 0.9])
    for m in (img, info, boxes):
        m.header.stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
        m.header.frame_id = FRAME
    return img, info, boxes


def test_compressed_images_are_decoded_and_a_camera_info_is_reused_for_later_frames(node_and_listener):
    node, listener = node_and_listener
    deadline = time.monotonic() + 20  # discovery between the node's publishers and the listener
    outputs = node.outputs
    while outputs.hands_pub.get_subscription_count() == 0 or outputs.debug_pub.get_subscription_count() == 0:
        assert time.monotonic() < deadline, "the listener never matched the node's publishers"
        time.sleep(0.05)
    t = time.time_ns()
    img, info, boxes = _frame(t)
    node.inputs.on_boxes(boxes)
    node.inputs.on_info(info)
    node.inputs.on_compressed(img)
    assert node.worker.wait_idle(60)
    img2, _, boxes2 = _frame(t + 33_000_000)  # no CameraInfo of its own: waits for it, then reuses
    node.inputs.on_boxes(boxes2)
    node.inputs.on_compressed(img2)
    assert node.inputs.pairer.waiting == 1
    time.sleep(node.settings["input.camera_info_wait_s"])
    node.inputs.expire_waiting()  # the node's expiry timer (the executor does not spin this node here)
    assert node.inputs.pairer.waiting == 0
    assert node.worker.wait_idle(60)
    assert node.inputs.reused_info == 1
    listener.wait_for(
        lambda: len(listener.hands) >= 2 and len(listener.debug) >= 2, 20, "hands and debug images"
    )
    with listener.lock:
        arr = listener.hands[-1]
        markers = listener.markers[-1]
        debug = listener.debug[-1]
    assert len(arr.hands) == 2 and (arr.image_width, arr.image_height) == (320, 240)
    assert all(len(h.vertices_m) == 778 * 3 for h in arr.hands)
    mesh = [m for m in markers.markers if m.ns == "mesh"]
    assert len(mesh) == 2 and len(mesh[0].points) == 1538 * 3
    assert (debug.width, debug.height, debug.encoding) == (320, 240, "rgb8")
    assert debug.header.stamp == arr.header.stamp


def test_undecodable_compressed_image_is_reported_and_the_node_goes_on(node_and_listener):
    node, _ = node_and_listener
    t = time.time_ns()
    img, info, boxes = _frame(t)
    img.data = b"\x00garbage"
    node.inputs.on_info(info)
    node.inputs.on_compressed(img)
    assert node.worker.wait_idle(30)
    assert node.stats.rejected["decode"] == 1
    img, info, boxes = _frame(t + 10**8)
    before = node.stats.processed
    node.inputs.on_boxes(boxes)
    node.inputs.on_info(info)
    node.inputs.on_compressed(img)
    assert node.worker.wait_idle(60)
    assert node.stats.processed == before + 1


def test_images_of_another_camera_on_the_topic_reset_tracking_and_are_counted(node_and_listener):
    node, _ = node_and_listener
    submitted = []
    inputs = node.inputs
    original = inputs._submit_frame
    inputs._submit_frame = lambda f: (submitted.append(f), original(f))
    try:
        switches = inputs.camera_switches
        t = time.time_ns() - 10**9  # 1 s old: the four stamps stay in the past
        for i, camera in enumerate(["cam_a_optical", "cam_a_optical", "cam_b_optical", "cam_b_optical"]):
            img, info, boxes = _frame(t + i * 33_000_000)
            for m in (img, info, boxes):
                m.header.frame_id = camera
            inputs.on_boxes(boxes)
            inputs.on_info(info)
            inputs.on_compressed(img)
            assert node.worker.wait_idle(60)
    finally:
        inputs._submit_frame = original
    assert [f.header.frame_id for f in submitted] == ["cam_a_optical"] * 2 + ["cam_b_optical"] * 2
    assert [f.reset_tracking for f in submitted][1:] == [False, True, False]
    # the first frame switches too when an earlier test's camera came last
    assert inputs.camera_switches == switches + 1 + int(submitted[0].reset_tracking)


def test_a_reset_request_survives_the_replacement_of_its_frame():
    from wildhands_ros.input_handling import Frame, keep_reset_request

    reset, plain = Frame(None, None, None, 1, reset_tracking=True), Frame(None, None, None, 2)
    merged = keep_reset_request(reset, plain)
    assert (merged.stamp_ns, merged.reset_tracking) == (2, True) and plain.reset_tracking is False
    assert keep_reset_request(plain, reset) is reset
    assert keep_reset_request(plain, Frame(None, None, None, 3)).reset_tracking is False
