"""Helpers of the hands-node DDS tests: a small checkpoint, the node process, a listener node.

The node runs as its own OS process started exactly as ``launch/hands.launch.py`` would
(``launch_logic.command_line(node_description(...))``); the listener lives in the test process and records
what the node publishes (``~/hands``, ``/tf``, ``~/markers``, ``/diagnostics``) from a background executor.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

PLAYER = Path(__file__).with_name("node_player.py")
ROBUST_PLAYER = Path(__file__).with_name("robust_player.py")
#: Parameter overrides of the test node (small buffers, detector every frame, tracks published at once).
TEST_OVERRIDES = {
    "detector.sources": ["external"],
    "tracking.min_hits": 1,
    "tracking.redetect_every_n": 1,
    "input.pairing_buffer": 2,
    "diagnostics.period_s": 0.25,
    # reliable inputs (the node's defaults are best effort), for the test node's topics (start_node)
    "qos_overrides./cam/image_raw.subscription.reliability": "reliable",
    "qos_overrides./cam/camera_info.subscription.reliability": "reliable",
    "qos_overrides./hand_boxes.subscription.reliability": "reliable",
    "tf.fingertips": True,
    # the test network's hands sit where its constant cameras put them for the player's K, not always in
    # their boxes: the plausibility checks are counted, nothing withheld; a re-detection gives the
    # detection's box as it is (the player's exact boxes)
    "tracking.require_plausible": False,
    "tracking.detection_gain": 1.0,
}


#: Camera (s, tx, ty) the test network's heads output: depth 2 f / (224 s) = 0.7 m for the player's K
#: (f = 300 px at 320 px width -> 210 px in the 224 frame), x offsets that put the right hand near the
#: right box (u = 100 px) and the left hand near the left box (u = 220 px).
TEST_CAMERAS = {
    "head_r": (1.875 / 0.7, (100 - 159.5) / 300 * 0.7, 0.0),
    "head_l": (1.875 / 0.7, (220 - 159.5) / 300 * 0.7, 0.0),
}


def write_small_checkpoint(path: Path) -> Path:
    """A randomly initialised ResNet-18 WildHands network with narrow heads, in the project format.

    Its camera heads are set to constants (``TEST_CAMERAS``) so that the hands of the player's boxes land
    near those boxes: the tracker then follows them between frames as it would real hands.
    """
    import torch

    from wildhands_core.checkpoint import save_checkpoint
    from wildhands_core.config import ModelConfig
    from wildhands_core.model.wildhands_net import WildHandsNet

    torch.manual_seed(0)
    cfg = ModelConfig(
        backbone="resnet18", conv_dims=(64, 32, 16), fc_dim=128, head_hidden=128, cam_init_hidden=64
    )
    net = WildHandsNet(cfg)
    sd = net.state_dict()
    for head, cam in TEST_CAMERAS.items():
        sd[f"{head}.cam_init.4.weight"].zero_()
        sd[f"{head}.cam_init.4.bias"].copy_(torch.tensor(cam))
        sd[f"{head}.hmr_layer.decoders.cam_t/wp.weight"].zero_()
        sd[f"{head}.hmr_layer.decoders.cam_t/wp.bias"].zero_()
    net.load_state_dict(sd)
    save_checkpoint(path, net)
    return path


def start_node(checkpoint: Path, log_path: Path, **overrides) -> subprocess.Popen:
    from wildhands_ros.launch_logic import command_line, node_description

    desc = node_description(
        camera_namespace="/cam",
        image_topic="image_raw",
        overrides={"model.checkpoint": str(checkpoint), **TEST_OVERRIDES, **overrides},
    )
    log = open(log_path, "w")
    proc = subprocess.Popen(command_line(desc), stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    proc.log_file = log  # type: ignore[attr-defined]
    return proc


def stop_node(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    proc.log_file.close()  # type: ignore[attr-defined]
    return proc.returncode


@contextlib.contextmanager
def running_node(tmp: Path, **overrides) -> Iterator[tuple[Listener, subprocess.Popen, Path]]:
    """The test node (small checkpoint in ``tmp``, log ``tmp/node.log``) and a listener, once the node's
    first /diagnostics arrived; both stopped on exit (the node's exit status in ``proc.returncode``)."""
    log = tmp / "node.log"
    proc = start_node(write_small_checkpoint(tmp / "r18.pt"), log, **overrides)
    listener = Listener()
    try:
        listener.wait_for(lambda: len(listener.diagnostics) > 0, 90, "the node's first /diagnostics")
    except AssertionError:
        stop_node(proc)
        listener.close()
        raise AssertionError("node did not start:\n" + log.read_text()[-3000:]) from None
    try:
        yield listener, proc, log
    finally:
        listener.close()
        stop_node(proc)


def run_player(*args: str, player: Path = PLAYER, timeout_s: float = 120.0) -> dict:
    """Run a player process (``node_player.py`` or ``robust_player.py``) to its end; its JSON summary."""
    import json

    res = subprocess.run(
        [sys.executable, str(player), *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=os.environ.copy(),
    )
    assert res.returncode == 0, f"player {args} failed ({res.returncode}): {res.stderr[-2000:]}"
    return json.loads(res.stdout.strip().splitlines()[-1])


class Listener:
    """Records the node's outputs in the test process (own rclpy context, background executor)."""

    def __init__(self, node_name: str = "/hands") -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
        from tf2_msgs.msg import TFMessage
        from visualization_msgs.msg import MarkerArray
        from wildhands_ros.msg import HandArray

        self.ctx = rclpy.Context()
        rclpy.init(context=self.ctx)
        self.node = rclpy.create_node("hands_test_listener", context=self.ctx)
        qos = QoSProfile(
            depth=100, reliability=QoSReliabilityPolicy.RELIABLE, durability=QoSDurabilityPolicy.VOLATILE
        )
        self.lock = threading.Lock()
        self.hands: list = []
        self.tf: list = []
        self.markers: list = []
        self.diagnostics: list = []
        self.node.create_subscription(
            HandArray, f"{node_name}/hands", lambda m: self._add(self.hands, m), qos
        )
        self.node.create_subscription(TFMessage, "/tf", lambda m: self._add(self.tf, m), qos)
        self.node.create_subscription(
            MarkerArray, f"{node_name}/markers", lambda m: self._add(self.markers, m), qos
        )
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics", lambda m: self._add(self.diagnostics, m), qos
        )
        self.executor = SingleThreadedExecutor(context=self.ctx)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:
            pass

    def _add(self, store: list, msg) -> None:
        with self.lock:
            store.append(msg)

    def wait_for(self, predicate, timeout_s: float, what) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if predicate():
                    return
            time.sleep(0.05)
        raise AssertionError(
            f"timed out after {timeout_s} s waiting for {what() if callable(what) else what}"
        )

    def latest_diagnostics(self) -> dict[str, str]:
        """key -> value of the newest DiagnosticStatus of the hands node."""
        with self.lock:
            for arr in reversed(self.diagnostics):
                for st in arr.status:
                    if "hand pose" in st.name:
                        return {kv.key: kv.value for kv in st.values} | {
                            "__level": st.level,
                            "__message": st.message,
                        }
        return {}

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.ctx.try_shutdown()
