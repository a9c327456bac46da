"""`wildhands-demo --frames N --out DIR`: the whole product, closed loop, on things the project makes itself.

1. renders a held-out synthetic egocentric sequence (both hands moving; seed never used for training);
2. starts the real node process (``python -m wildhands_ros``) with the demo checkpoint, the learned detector
   and tracking, smoothing, hands/TF/markers/diagnostics;
3. plays the frames as ``sensor_msgs/Image`` + ``CameraInfo`` at 30 Hz over DDS, stamped with the time of
   publication, and records the node's outputs (hands, raw hands, /tf, markers, /diagnostics; with
   ``--robot-hand NAME`` the robot hand's JointStates) to a rosbag2 MCAP file through ``rosbags``;
4. reads the bag back, prints accuracy against the known truth, smoothness, throughput and latency, and
   writes ``metrics.json`` (keys documented in ``wildhands_ros.demo.report``) and an overlay strip PNG.

The demo model is a model of the synthetic domain (procedural hands on procedural backgrounds), not of
real hands: its figures say that the pipeline works end to end, not how well it does on real images.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from wildhands_core.demo_model import default_model_dir
from wildhands_core.estimator import BACKENDS
from wildhands_core.retargeting.robot_hands import UnknownRobotHandError, available_robot_hands, robot_hand
from wildhands_synth.sequence import DEMO_SEED

#: Score floor of the demo's learned detector (below the node's default 0.3).
DEMO_MIN_SCORE = 0.25


def _params_yaml(path: Path, checkpoint: Path, detector: Path | None, backend: str, robot: str = "") -> None:
    import yaml

    sources = ["learned"] if detector else ["external"]
    # the node's defaults (wildhands_ros.params) except: the demo's checkpoints, backend, sources, topics,
    # QoS, outputs, and the score floor of its detector
    params = {
        "model": {"checkpoint": str(checkpoint), "backend": backend},
        "detector": {
            "sources": sources, "learned_checkpoint": str(detector or ""), "min_score": DEMO_MIN_SCORE
        },
        "topics": {"image": "/demo/camera/image_raw", "camera_info": "/demo/camera/camera_info"},
        # rclpy's QoS override parameters of the input subscriptions (wildhands_ros.input_qos)
        "qos_overrides": {
            "/demo/camera/image_raw": {"subscription": {"reliability": "reliable", "depth": 10}},
            "/demo/camera/camera_info": {"subscription": {"reliability": "reliable"}},
            "/hand_boxes": {"subscription": {"reliability": "reliable"}},
        },
        "output": {"markers": True, "publish_raw": True},
        "tf": {"publish": True, "frame_prefix": "demo_"},
    }
    if robot:
        params["retargeting"] = {"robot": robot}
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}, sort_keys=False))


def demo_bag_dir(out: Path) -> Path:
    """The demo's rosbag2 directory ``OUT/demo_bag/`` (metadata.yaml + ``demo_bag.mcap``): ``ros2 bag info
    OUT/demo_bag`` reads the directory, Foxglove opens ``OUT/demo_bag/demo_bag.mcap``."""
    return Path(out) / "demo_bag"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="wildhands-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--frames", type=int, default=150, help="frames to play at 30 Hz (default 150 = 5 s)")
    ap.add_argument("--out", default="demo_out", help="output folder (bag, metrics.json, overlay.png)")
    ap.add_argument("--model-dir", default=None, help="folder with wildhands_demo.pt and detector_demo.pt")
    ap.add_argument("--backend", default="onnxruntime", choices=BACKENDS)
    ap.add_argument("--size", default="640x480", help="image size WxH")
    ap.add_argument("--rate", type=float, default=30.0, help="playback rate, Hz")
    ap.add_argument("--seed", type=int, default=DEMO_SEED, help="sequence seed (held out from training)")
    ap.add_argument("--robot-hand", default="", metavar="NAME",
                    help="a robot hand following each hand (JointState recorded in the bag): one of "
                    f"{', '.join(available_robot_hands())}")
    a = ap.parse_args(argv)
    if a.robot_hand:
        try:
            robot_hand(a.robot_hand)
        except UnknownRobotHandError as exc:
            ap.error(str(exc))

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    model_dir = Path(a.model_dir) if a.model_dir else default_model_dir()
    checkpoint = model_dir / "wildhands_demo.pt"
    detector = model_dir / "detector_demo.pt"
    if not checkpoint.exists():
        print(
            f"wildhands-demo: no demo checkpoint at {checkpoint} (see models/demo/README.md)", file=sys.stderr
        )
        return 2
    width, height = (int(v) for v in a.size.split("x"))
    seq, frames, truth = _render(a.seed, (width, height), a.frames)
    params = out / "demo_params.yaml"
    _params_yaml(params, checkpoint, detector if detector.exists() else None, a.backend, a.robot_hand)
    bag_path = demo_bag_dir(out)
    played = _play_through_node(out, params, bag_path, seq.K_px, (width, height), frames, a.rate,
                                robot_hand=bool(a.robot_hand))
    if played is None:
        return 3
    _report(out, bag_path, played, frames, truth, a.rate)
    return 0


def _render(seed: int, size: tuple[int, int], n_frames: int):
    """The held-out synthetic sequence: (the sequence, its RGB frames, the truth arrays stacked per key)."""
    from tqdm import tqdm

    from wildhands_synth.sequence import SyntheticSequence

    seq = SyntheticSequence(seed, size, threads=1)
    frames, labels = [], []
    for f in tqdm(seq.frames(n_frames), total=n_frames, desc="rendering the held-out sequence", unit="frame"):
        frames.append(f.image)
        labels.append(f.labels)
    truth = {k: np.stack([lab[k] for lab in labels]) for k in labels[0]}
    return seq, frames, truth


def _start_node(params: Path, log) -> subprocess.Popen:
    """The node process (``python -m wildhands_ros`` as ``/demo/hands``) with the demo parameters."""
    args = ["--ros-args", "-r", "__node:=hands", "-r", "__ns:=/demo", "--params-file", str(params)]
    return subprocess.Popen(
        [sys.executable, "-m", "wildhands_ros", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )


def _play_through_node(out: Path, params: Path, bag_path: Path, K_px: np.ndarray, size: tuple[int, int],
                       frames: list[np.ndarray], rate_hz: float, robot_hand: bool = False):
    """Start the node, play ``frames`` at ``rate_hz`` while recording ``bag_path``, stop the node; the
    ``Played`` record, or None (message printed) when the node did not come up."""
    from wildhands_ros.demo.stream import DemoStream

    node_log = open(out / "node.log", "w")
    node = _start_node(params, node_log)
    try:
        stream = DemoStream(bag_path, K_px=K_px, width=size[0], height=size[1], robot_hand=robot_hand)
        print("waiting for the node (model loading)...", flush=True)
        if not stream.wait_for_node(timeout_s=180.0, node_proc=node):
            print(f"wildhands-demo: the node did not come up; see {out / 'node.log'}", file=sys.stderr)
            return None
        played = stream.play(frames, rate_hz=rate_hz, progress=True)
        stream.drain(expected=len(frames), timeout_s=30.0)
        stream.close()
        played.counts = dict(stream.counts)
    finally:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(timeout=15)
        except subprocess.TimeoutExpired:
            node.kill()
        node_log.close()
    return played


def _report(out: Path, bag_path: Path, played, frames: list[np.ndarray], truth: dict, rate_hz: float) -> None:
    """Read the bag back; write ``metrics.json`` and ``overlay.png``; print the figures and the paths."""
    from wildhands_ros.demo.report import compute_metrics, format_metrics
    from wildhands_ros.demo.stream import read_demo_bag, write_overlay

    rec = read_demo_bag(bag_path, played.stamp_to_index)
    metrics = compute_metrics(
        truth,
        rec.published,
        rec.raw,
        played=len(frames),
        dropped_by_node=rec.dropped_by_node,
        play_time_s=played.duration_s,
        latencies_ms=rec.latencies_ms,
        recorded=rec.recorded,
        rate_hz=rate_hz,
        node_counts=rec.node_counts,
    )
    metrics["backend"] = rec.backend
    metrics["mano_model"] = rec.mano_model
    joint_states = {t.split("/")[-2]: n for t, n in played.counts.items() if t.endswith("/joint_states")}
    if joint_states:
        metrics["robot_hand_joint_states"] = joint_states
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    write_overlay(out / "overlay.png", frames, rec.published, truth)
    print(
        "\nwildhands demo: synthetic held-out sequence, demo model of the synthetic domain (not real hands)"
    )
    print(format_metrics(metrics))
    if joint_states:
        print("robot hand: JointState messages recorded, "
              + ", ".join(f"{side} {n}" for side, n in sorted(joint_states.items())))
    print(f"\nbag: {bag_path} (ros2 bag info {bag_path}; Foxglove: {bag_path / (bag_path.name + '.mcap')})")
    print(f"metrics: {out / 'metrics.json'}\noverlay: {out / 'overlay.png'}")


if __name__ == "__main__":
    sys.exit(main())
