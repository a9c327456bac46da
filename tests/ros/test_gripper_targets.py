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


def _run_node(tmp_path, name: str, overrides: dict, before=None, frames: int = 1):
    """Start HandsNode ``name`` in this process, feed ``frames`` images (+ CameraInfo, boxes) through its
    callbacks, return (HandArrays, GripperTargetArrays) received over DDS and the node's gripper output."""
    import rclpy
    from node_harness import Listener, write_small_checkpoint
    from node_player import frame_messages
    from rclpy.parameter import Parameter
    from wildhands_ros.msg import GripperTargetArray

    from wildhands_ros.node import HandsNode

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    overrides = {"model.checkpoint": str(write_small_checkpoint(tmp_path / "m.pt")), "tracking.min_hits": 1,
                 "detector.sources": ["external"], **overrides}
    node = HandsNode(name, context=ctx,
                     parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    listener = Listener(f"/{name}")
    got: list = []
    listener.node.create_subscription(GripperTargetArray, f"/{name}/gripper_targets",
                                      lambda m: listener._add(got, m), 10)
    try:
        deadline = time.monotonic() + 20
        pubs = (node.outputs.gripper_out.pub, node.outputs.hands_pub)
        while any(p.get_subscription_count() == 0 for p in pubs):
            assert time.monotonic() < deadline, "the listener never matched the node's publishers"
            time.sleep(0.05)
        if before is not None:
            before(listener, node)
        for k in range(frames):
            img, info, boxes = frame_messages(k)
            node.inputs.on_boxes(boxes)
            node.inputs.on_info(info)
            node.inputs.on_image(img)
            listener.wait_for(lambda k=k: len(listener.hands) > k, 60, "hands")
        time.sleep(0.5)
        with listener.lock:
            return list(listener.hands), list(got), node.outputs.gripper_out
    finally:
        listener.close()
        node.destroy_node()
        ctx.try_shutdown()


def test_the_node_publishes_gripper_targets_of_its_hands(tmp_path):
    hands, got, _ = _run_node(tmp_path, "hands_grip", {})
    arr, g = hands[-1], got[-1]
    assert g.header == arr.header and len(g.targets) == len(arr.hands) == 2
    for h, t in zip(arr.hands, g.targets, strict=True):
        j = np.asarray(h.joints_m, np.float64).reshape(21, 3)
        assert t.aperture_m == pytest.approx(np.linalg.norm(j[16] - j[17]), abs=1e-6)
        assert t.handedness == h.handedness and t.track_id == h.track_id
        assert t.wrist_pose == h.wrist_pose


@pytest.mark.slow
def test_node_target_frame_uses_tf_static_and_never_identity(tmp_path):
    """output.target_frame=base with /tf_static base -> camera (a calibration) published over DDS: the wrist
    targets equal R p + t of the HandArray's wrists to 1e-6 m; without any transform, nothing is published
    and the frames are counted."""
    from geometry_msgs.msg import TransformStamped
    from scipy.spatial.transform import Rotation
    from tf2_msgs.msg import TFMessage

    t_m = np.array([0.3, -0.2, 1.1])
    R = Rotation.from_euler("xyz", [-95, 3, -88], degrees=True)
    q = R.as_quat()

    def send_static(listener, node) -> None:
        from rclpy.qos import DurabilityPolicy, QoSProfile

        latched = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        pub = listener.node.create_publisher(TFMessage, "/tf_static", latched)
        tr = TransformStamped()
        tr.header.frame_id, tr.child_frame_id = "base", "cam_optical"
        tr.transform.translation.x, tr.transform.translation.y, tr.transform.translation.z = map(float, t_m)
        (tr.transform.rotation.x, tr.transform.rotation.y, tr.transform.rotation.z,
         tr.transform.rotation.w) = map(float, q)
        pub.publish(TFMessage(transforms=[tr]))
        from rclpy.executors import SingleThreadedExecutor

        ex = SingleThreadedExecutor(context=node.context)  # the node's callbacks run as its executor would
        ex.add_node(node)
        deadline = time.monotonic() + 20
        while "base" not in node.outputs.gripper_out.tf.frames:
            assert time.monotonic() < deadline, "the node never received /tf_static"
            ex.spin_once(timeout_sec=0.05)
        ex.remove_node(node)

    hands, got, _ = _run_node(tmp_path, "hands_grip_tf", {"output.target_frame": "base"}, send_static)
    arr, g = hands[-1], got[-1]
    assert g.header.frame_id == "base" and g.header.stamp == arr.header.stamp
    for h, t in zip(arr.hands, g.targets, strict=True):
        p = h.wrist_pose.position
        expected = R.apply([p.x, p.y, p.z]) + t_m
        assert np.allclose([t.wrist_pose.position.x, t.wrist_pose.position.y, t.wrist_pose.position.z],
                           expected, atol=1e-6)
        o = h.wrist_pose.orientation
        qt = t.wrist_pose.orientation
        assert np.allclose((R * Rotation.from_quat([o.x, o.y, o.z, o.w])).as_matrix(),
                           Rotation.from_quat([qt.x, qt.y, qt.z, qt.w]).as_matrix(), atol=1e-6)
    hands, got, out = _run_node(tmp_path, "hands_grip_notf", {"output.target_frame": "base"}, frames=2)
    assert len(hands) == 2 and got == [] and out.transform_missing == {"unknown_frame": 2}
