"""``~/robot_hand/{left,right}/joint_states``: with ``retargeting.robot`` set, the node publishes over real
DDS one sensor_msgs/JointState per side, stamped with the image, naming the URDF's movable joints (read
here from the URDF file itself) with positions inside the URDF's limits; the lifecycle publishers stop
with deactivate; /diagnostics counts the solved frames. A bad robot name or config stops start-up with the
names or the file (a config or a URDF)."""

from __future__ import annotations

import re
import time

import pytest
from urdf_facts import urdf_joint_limits

pytestmark = pytest.mark.ros


def test_the_node_publishes_robot_hand_joint_states_per_side(tmp_path):
    import rclpy
    from node_harness import Listener, write_small_checkpoint
    from node_player import frame_messages
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import JointState

    from wildhands_ros.node import HandsNode

    name = "hands_robot"
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    overrides = {"model.checkpoint": str(write_small_checkpoint(tmp_path / "m.pt")), "tracking.min_hits": 1,
                 "detector.sources": ["external"], "retargeting.robot": "allegro"}
    node = HandsNode(name, context=ctx,
                     parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    listener = Listener(f"/{name}")
    got: dict[str, list] = {"right": [], "left": []}
    for side in got:
        listener.node.create_subscription(JointState, f"/{name}/robot_hand/{side}/joint_states",
                                          lambda m, side=side: listener._add(got[side], m), 10)
    try:
        pubs = [*node.outputs.robot_hand_out.pubs.values(), node.outputs.hands_pub]
        deadline = time.monotonic() + 20
        while any(p.get_subscription_count() == 0 for p in pubs):
            assert time.monotonic() < deadline, "the listener never matched the node's publishers"
            time.sleep(0.05)
        for k in range(3):
            img, info, boxes = frame_messages(k)
            node.inputs.on_boxes(boxes)
            node.inputs.on_info(info)
            node.inputs.on_image(img)
            listener.wait_for(lambda k=k: len(listener.hands) > k, 60, "hands")
        listener.wait_for(lambda: len(got["right"]) >= 3 and len(got["left"]) >= 3, 20, "joint states")
        with listener.lock:
            hands = list(listener.hands)
        for side, is_right in (("right", True), ("left", False)):
            limits = urdf_joint_limits("allegro", is_right)
            stamps = [h.header.stamp for h in hands]
            for msg in got[side]:
                assert msg.header.stamp in stamps  # the image's stamp, never "now"
                assert sorted(msg.name) == sorted(limits) and len(msg.position) == len(msg.name)
                for joint, q in zip(msg.name, msg.position, strict=True):
                    lo, hi = limits[joint]
                    assert lo - 1e-6 <= q <= hi + 1e-6, (joint, q)
        node._publish_diagnostics()
        deadline = time.monotonic() + 20
        while "retargeting_solved" not in (diag := listener.latest_diagnostics()):
            assert time.monotonic() < deadline, "no /diagnostics with the retargeting counts"
            time.sleep(0.05)
        assert int(diag["retargeting_solved"]) >= 6 and diag["retargeting_failed"] == "0"
        assert diag["retargeting_robot"] == "allegro"
        # deactivated: the lifecycle publishers publish nothing more
        node.trigger_deactivate()
        n = len(got["right"])
        node.outputs.robot_hand_out.publish([], hands[-1].header)
        time.sleep(0.3)
        assert len(got["right"]) == n
    finally:
        listener.close()
        node.destroy_node()
        ctx.try_shutdown()


def test_a_bad_robot_name_or_config_stops_start_up_naming_it(tmp_path):
    import rclpy
    from node_harness import write_small_checkpoint
    from rclpy.parameter import Parameter

    from wildhands_ros.node import HandsNode
    from wildhands_ros.params import ParameterError

    ckpt = str(write_small_checkpoint(tmp_path / "m.pt"))
    broken = tmp_path / "broken_hand.yaml"
    broken.write_text("side: right\nmethod: vector\nscaling: 1.0\npalm: {}\ntargets: {}\nurdf: none.urdf\n")
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        with pytest.raises(ParameterError, match=r"retargeting\.robot.*allegro.*leap"):
            HandsNode("hands_bad_robot", context=ctx, parameter_overrides=[
                Parameter("model.checkpoint", value=ckpt), Parameter("retargeting.robot", value="alegro")])
        with pytest.raises(RuntimeError, match=re.escape(str(broken))):
            HandsNode("hands_bad_config", context=ctx, parameter_overrides=[
                Parameter("model.checkpoint", value=ckpt), Parameter("retargeting.config", value=str(broken)),
                Parameter("detector.sources", value=["external"])])
        bad_urdf = tmp_path / "not_a_robot.urdf"
        bad_urdf.write_text("<robot name='x'><link name='a'></robot>")
        with pytest.raises(RuntimeError, match=re.escape(str(bad_urdf))):
            HandsNode("hands_bad_urdf", context=ctx, parameter_overrides=[
                Parameter("model.checkpoint", value=ckpt), Parameter("retargeting.robot", value="allegro"),
                Parameter("retargeting.urdf", value=str(bad_urdf)),
                Parameter("detector.sources", value=["external"])])
    finally:
        ctx.try_shutdown()


def test_the_node_modules_import_no_retargeting_library_until_it_is_on():
    """dex-retargeting (and through it pinocchio, nlopt) loads only when a robot hand is configured."""
    import subprocess
    import sys

    code = ("import sys, wildhands_ros.node, wildhands_ros.robot_hand_output, wildhands_ros.params; "
            "print(sorted(m for m in ('dex_retargeting', 'pinocchio', 'nlopt') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
