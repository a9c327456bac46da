"""The node process as a ROS 2 user meets it, over real Fast DDS: started as the launch file starts it with
no argument at all (the shipped demo checkpoint, one WARN that says so), and gone from the ROS graph as soon
as it exits on SIGINT or SIGTERM (``ros2 node list`` reads the same graph: a node left behind until its
discovery lease expires, about 20 s, makes a relaunch warn of two nodes with one name and publishers count
a dead subscriber)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from node_harness import Listener, start_node, write_small_checkpoint

pytestmark = pytest.mark.ros

#: Longest time from the node's exit to its absence from a peer's graph (s): teardown messages arrive in
#: milliseconds; a lease expiry takes about 20 s.
GONE_WITHIN_S = 3.0


def _in_graph(listener: Listener, name: str = "hands", namespace: str = "/") -> bool:
    return (name, namespace) in listener.node.get_node_names_and_namespaces()


def _stop_and_time_until_gone(listener: Listener, proc: subprocess.Popen, sig: int, topic: str) -> float:
    """Send ``sig``; after the process exited (status 0 required), seconds until the node and its
    subscription of ``topic`` are gone from the listener's graph (inf past ``GONE_WITHIN_S``)."""
    proc.send_signal(sig)
    assert proc.wait(15) == 0
    exited = time.monotonic()
    while time.monotonic() - exited < GONE_WITHIN_S:
        if not _in_graph(listener) and listener.node.count_subscribers(topic) == 0:
            return time.monotonic() - exited
        time.sleep(0.02)
    return float("inf")


def _wait_active(listener: Listener, proc: subprocess.Popen, log: Path, topic: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not (_in_graph(listener) and listener.node.count_subscribers(topic) == 1):
        assert proc.poll() is None, "node exited at start-up:\n" + log.read_text()[-3000:]
        assert time.monotonic() < deadline, "node did not become active:\n" + log.read_text()[-3000:]
        time.sleep(0.1)


def _signal_once_active(proc: subprocess.Popen, log: Path, topic: str, sig: int, timeout_s: float) -> float:
    """Wait until the node subscribes ``topic``, send ``sig`` and return the seconds from its exit until it
    and its subscription are gone from a peer's graph (the process is killed if it is still there)."""
    listener = Listener()
    try:
        _wait_active(listener, proc, log, topic, timeout_s)
        return _stop_and_time_until_gone(listener, proc, sig, topic)
    finally:
        listener.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_with_no_argument_the_node_starts_on_the_demo_checkpoint_warns_once_and_leaves_on_sigint(tmp_path):
    from wildhands_ros.launch_logic import command_line, node_description

    log = tmp_path / "node.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*command_line(node_description()), "--log-level", "hands:=debug"],  # to see the routed lines
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    # the launch file's defaults: camera_namespace camera, image_topic image_raw, relative to the node's /
    took = _signal_once_active(proc, log, "/camera/image_raw", signal.SIGINT, 180)
    text = log.read_text()
    print(f"SIGINT: gone from the graph {took:.2f} s after exit")
    warnings = [line for line in text.splitlines() if "DEMO checkpoint" in line]
    assert len(warnings) == 1 and "WARN" in warnings[0], text[-3000:]
    assert "wildhands_demo.pt" in warnings[0] and "checkpoint:=" in warnings[0]
    assert "model.checkpoint" in warnings[0] and "SYNTHETIC" in warnings[0]
    # smplx's print and MediaPipe's TFLite/absl logs went through the node's logger (debug), not around it
    stray = [line for line in text.splitlines() if line.strip() and not line.startswith("[")]
    assert not stray, f"output that bypassed the node's logger: {stray}"
    routed = [line for line in text.splitlines() if "You are using a MANO model" in line]
    assert routed and all(line.startswith("[DEBUG]") and "[hands]" in line for line in routed), routed
    assert took <= GONE_WITHIN_S, f"the node stayed in the ROS graph after it exited:\n{text[-2000:]}"


def test_after_sigterm_the_node_and_its_subscriptions_leave_the_graph_at_once(tmp_path):
    log = tmp_path / "node.log"
    proc = start_node(write_small_checkpoint(tmp_path / "m.pt"), log)
    try:
        took = _signal_once_active(proc, log, "/cam/image_raw", signal.SIGTERM, 120)
    finally:
        proc.log_file.close()  # type: ignore[attr-defined]
    print(f"SIGTERM: gone from the graph {took:.2f} s after exit")
    assert took <= GONE_WITHIN_S, "the node stayed in the ROS graph:\n" + log.read_text()[-900:]
