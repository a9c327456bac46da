"""``~/gripper_targets``: for every published hand, a GripperTarget whose aperture is the thumb-tip to
index-tip distance of the same hand's ``joints_m`` (msg/Hand.msg: MANO21 16 and 17), its command the
documented mapping and its wrist pose the Hand's; the node publishes it next to the HandArray."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytestmark = pytest.mark.ros


def test_gripper_target_array_follows_the_mapping_and_hysteresis():
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    from wildhands_core.estimate import HandEstimate
    from wildhands_core.gripper import GripperConfig, GripperTracker
    from wildhands_ros.gripper_targets import gripper_target_array

    rng = np.random.default_rng(0)

    def est(a: float, right: bool) -> HandEstimate:
        j = rng.normal(size=(21, 3)) * 0.03 + [0, 0, 0.5]
        j[17] = j[16] + [0.0, a, 0.0]
        return HandEstimate(is_right=right, global_orient_aa=rng.normal(size=3), hand_pose_aa=np.zeros(45),
                            betas=np.zeros(10), transl_m=np.zeros(3), joints_m=j,
                            keypoints_px=np.zeros((21, 2)),
                            box_xyxy_px=np.zeros(4), crop_xyxy_px=np.zeros(4), confidence=0.8,
                            grasp_prob=np.full(9, 1 / 9), track_id=-1)

    tracker = GripperTracker(GripperConfig())  # closed 0.02, open 0.10, close below 0.035, open above 0.05
    closed = []
    for k, a in enumerate([0.08, 0.03, 0.045, 0.06]):
        h = Header(stamp=Time(sec=1, nanosec=k * 33_000_000), frame_id="cam")
        e = est(a, True)
        m = gripper_target_array(tracker, [e, est(0.1, False)], h)
        t = m.targets[0]
        assert m.header.frame_id == "cam" and t.handedness == 1 and m.targets[1].handedness == 0
        assert t.aperture_m == pytest.approx(a, abs=1e-6)
        assert t.command == pytest.approx(np.clip((a - 0.02) / 0.08, 0, 1), abs=1e-6)
        assert [t.wrist_pose.position.x, t.wrist_pose.position.y, t.wrist_pose.position.z] == \
            pytest.approx(e.joints_m[0])
        closed.append(t.closed)
    assert closed == [False, True, True, False]


def test_the_node_publishes_gripper_targets_of_its_hands(tmp_path):
    import rclpy
    from builtin_interfaces.msg import Time
    from node_harness import Listener, write_small_checkpoint
    from node_player import BOXES, FRAME, H, K, W
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import CameraInfo, Image
    from wildhands_ros.msg import GripperTargetArray, HandBoxArray

    from wildhands_ros.node import HandsNode

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    overrides = {"model.checkpoint": str(write_small_checkpoint(tmp_path / "m.pt")), "tracking.min_hits": 1}
    node = HandsNode("hands_grip", context=ctx,
                     parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    listener = Listener("/hands_grip")
    got: list = []
    listener.node.create_subscription(GripperTargetArray, "/hands_grip/gripper_targets",
                                      lambda m: listener._add(got, m), 10)
    try:
        deadline = time.monotonic() + 20
        pubs = (node.gripper_out.pub, node.hands_pub)
        while any(p.get_subscription_count() == 0 for p in pubs):
            assert time.monotonic() < deadline, "the listener never matched the node's publishers"
            time.sleep(0.05)
        stamp = time.time_ns()
        hdr = {"stamp": Time(sec=stamp // 10**9, nanosec=stamp % 10**9), "frame_id": FRAME}
        rgb = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
        img = Image(width=W, height=H, encoding="rgb8", step=W * 3, data=rgb.tobytes())
        info = CameraInfo(width=W, height=H, k=K)
        boxes = HandBoxArray(boxes_xyxy_px=BOXES, handedness=[1, 0], scores=[0.9, 0.9])
        for m in (img, info, boxes):
            m.header.stamp, m.header.frame_id = hdr["stamp"], hdr["frame_id"]
        node._on_boxes(boxes)
        node._on_info(info)
        node._on_image(img)
        listener.wait_for(lambda: len(got) >= 1 and len(listener.hands) >= 1, 60, "gripper targets")
        with listener.lock:
            arr, g = listener.hands[-1], got[-1]
        assert g.header == arr.header and len(g.targets) == len(arr.hands) == 2
        for h, t in zip(arr.hands, g.targets, strict=True):
            j = np.asarray(h.joints_m, np.float64).reshape(21, 3)
            assert t.aperture_m == pytest.approx(np.linalg.norm(j[16] - j[17]), abs=1e-6)
            assert t.handedness == h.handedness and t.track_id == h.track_id
            assert t.wrist_pose == h.wrist_pose
    finally:
        listener.close()
        node.destroy_node()
        ctx.try_shutdown()
