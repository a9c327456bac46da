"""``wildhands-demo --robot-hand allegro``: the real node process over real DDS with ``retargeting.robot``
set; the demo bag holds the robot hand's sensor_msgs/JointState per side, one per published HandArray with
a hand of that side, stamped with its image, naming the URDF's movable joints (read here from the URDF
file) with positions inside the URDF's limits; ``metrics.json`` counts them as the bag does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from urdf_facts import urdf_joint_limits

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
FRAMES = 16


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_robot_hand")
    proc = subprocess.run(
        [sys.executable, "-m", "wildhands_ros.demo.cli", "--frames", str(FRAMES), "--out", str(out),
         "--rate", "10", "--robot-hand", "allegro"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"demo failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return out, proc.stdout


def test_the_demo_bag_holds_the_robot_hand_joint_states(demo_run):
    from rosbags.rosbag2 import Reader

    from wildhands_offline.types import make_typestore

    out, stdout = demo_run
    ts = make_typestore()
    sides_at: dict[int, set[str]] = {}  # HandArray stamp -> sides of its hands
    states: dict[str, list] = {"left": [], "right": []}
    with Reader(out / "demo_bag") as reader:
        for conn, _, data in reader.messages():
            if conn.topic == "/demo/hands/hands":
                msg = ts.deserialize_cdr(data, conn.msgtype)
                stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
                sides_at[stamp] = {"right" if h.handedness == 1 else "left" for h in msg.hands}
            elif conn.topic.startswith("/demo/hands/robot_hand/"):
                assert conn.msgtype == "sensor_msgs/msg/JointState"
                side = conn.topic.split("/")[-2]
                states[side].append(ts.deserialize_cdr(data, conn.msgtype))
    m = json.loads((out / "metrics.json").read_text())
    assert m["robot_hand_joint_states"] == {side: len(msgs) for side, msgs in states.items()}
    assert "robot hand: JointState messages recorded" in stdout
    assert states["left"] and states["right"], "no JointState recorded for a side"
    for side, msgs in states.items():
        limits = urdf_joint_limits("allegro", side == "right")
        with_side = sorted(stamp for stamp, sides in sides_at.items() if side in sides)
        stamps = sorted(s.header.stamp.sec * 10**9 + s.header.stamp.nanosec for s in msgs)
        assert stamps == with_side  # one per HandArray with a hand of that side, its image's stamp
        for msg in msgs:
            assert msg.header.frame_id == ""
            assert sorted(msg.name) == sorted(limits) and len(msg.position) == len(msg.name)
            for joint, q in zip(msg.name, msg.position, strict=True):
                lo, hi = limits[joint]
                assert lo - 1e-6 <= q <= hi + 1e-6, (joint, q)


def test_an_unknown_robot_hand_stops_the_demo_listing_the_names(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "wildhands_ros.demo.cli", "--frames", "2", "--out", str(tmp_path),
         "--robot-hand", "alegro"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2 and "allegro" in proc.stderr and "leap" in proc.stderr
    assert not (tmp_path / "demo_bag").exists()
