"""The README's first command, short: the real node process over real DDS on a held-out synthetic
sequence, with the shipped demo checkpoint; the bag is read back and checked against the truth.

The frames are played at 10 Hz instead of the demo's 30 Hz so that a 2-core CI machine estimates enough
of the 36 frames for the accuracy figures to mean something (at 30 Hz most frames are, correctly, dropped
by the node and counted as such)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.ros, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
FRAMES = 36


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    if not (REPO / "models" / "demo" / "wildhands_demo.pt").exists():
        pytest.fail(
            "models/demo/wildhands_demo.pt is missing: the demo checkpoint must ship with the repository"
        )
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wildhands_ros.demo.cli",
            "--frames",
            str(FRAMES),
            "--out",
            str(out),
            "--rate",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"demo failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return out, proc.stdout


def test_demo_prints_and_writes_every_documented_metric(demo_run):
    out, stdout = demo_run
    m = json.loads((out / "metrics.json").read_text())
    for key in (
        "mpjpe_mm",
        "pa_mpjpe_mm",
        "mrrpe_mm",
        "kp2d_error_px",
        "jitter_raw_mm_s2",
        "jitter_smoothed_mm_s2",
        "frames_played",
        "frames_estimated",
        "frames_recorded",
        "frames_dropped_by_node",
        "throughput_fps",
        "latency_p50_ms",
        "latency_p95_ms",
    ):
        assert key in m, key
    assert "root-relative MPJPE" in stdout and "MRRPE" in stdout
    assert (out / "overlay.png").stat().st_size > 10_000


def test_every_frame_is_answered_and_every_published_frame_is_in_the_bag_with_its_stamp(demo_run):
    from rosbags.rosbag2 import Reader

    from wildhands_offline.types import make_typestore

    out, _ = demo_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["frames_played"] == FRAMES
    assert m["frames_unanswered"] == 0
    # every played frame is a valid image with its calibration known to the node before the first image
    assert m["frames_rejected_by_node"] == 0 and m["frames_failed_by_node"] == 0
    assert m["frames_recorded"] + m["frames_dropped_by_node"] >= FRAMES
    ts = make_typestore()
    stamps, tf_stamps = [], set()
    bag = out / "demo_bag"
    assert (bag / "metadata.yaml").exists() and (bag / "demo_bag.mcap").exists()  # ros2 bag info / Foxglove
    with Reader(bag) as reader:
        for conn, _, data in reader.messages():
            msg = ts.deserialize_cdr(data, conn.msgtype)
            if conn.topic == "/demo/hands/hands":
                assert msg.header.frame_id == "demo_camera_optical_frame"
                stamps.append(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
            elif conn.topic == "/tf":
                for t in msg.transforms:
                    assert t.header.frame_id == "demo_camera_optical_frame"
                    assert t.child_frame_id in ("demo_left_wrist", "demo_right_wrist")
                    tf_stamps.add(t.header.stamp.sec * 10**9 + t.header.stamp.nanosec)
    assert (
        len(stamps) == m["frames_recorded"] and stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    )
    assert tf_stamps <= set(stamps) and tf_stamps


def test_demo_accuracy_is_that_of_a_trained_model(demo_run):
    # Bounds between the shipped checkpoint (about 50 mm MPJPE, 110-180 mm MRRPE on
    # held-out frames) and an untrained network of the same architecture (120 mm, 255 mm): a broken stage
    # (wrong side, frame, crop or camera mapping) lands above them. The targets (15 mm, 30 mm) are
    # not reached by this CPU-trained checkpoint yet (models/demo/README.md).
    out, _ = demo_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["frames_estimated"] >= FRAMES // 4
    assert np.isfinite(m["mpjpe_mm"]) and m["mpjpe_mm"] < 80.0
    assert np.isfinite(m["mrrpe_mm"]) and m["mrrpe_mm"] < 240.0
    assert m["jitter_smoothed_mm_s2"] < m["jitter_raw_mm_s2"]
    assert m["smoothing_lag_ms"] <= 1000.0 / 30.0 + 1e-6  # at most one frame at 30 Hz
