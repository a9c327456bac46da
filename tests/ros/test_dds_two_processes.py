"""Real ROS 2 plumbing: two OS processes exchange Image, CameraInfo and the project's HandArray over Fast
DDS (no in-process shortcut), with bounded waits and clear failure messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ros
PEERS = Path(__file__).with_name("dds_peers.py")


def _start(role: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(PEERS), role, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or os.environ.copy(),
    )


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_image_camerainfo_and_hands_cross_process_boundary_over_fastdds(attempt):
    sub = _start("sub", "--expect", "5", "--timeout", "20")
    assert json.loads(sub.stdout.readline()) == {"ready": True}
    pub = _start("pub", "--count", "5", "--timeout", "20")
    _, pub_err = pub.communicate(timeout=40)
    sub_out, sub_err = sub.communicate(timeout=40)
    assert pub.returncode == 0, f"publisher failed: {pub_err}"
    assert sub.returncode == 0, f"subscriber failed: {sub_err}"
    got = json.loads(sub_out.strip().splitlines()[-1])
    assert [m["sec"] for m in got["image"]] == [1000 + i for i in range(5)]
    assert [m["pixel"] for m in got["image"]] == list(range(5))
    assert all(m["size"] == 64 * 48 * 3 and m["frame"] == "cam_optical" for m in got["image"])
    assert [m["fx"] for m in got["info"]] == [50.0] * 5
    assert [m["track_id"] for m in got["hands"]] == list(range(5))
    assert [m["z"] for m in got["hands"]] == pytest.approx([0.4 + i for i in range(5)], abs=1e-5)
    assert all(m["right"] for m in got["hands"])


def test_subscriber_that_receives_nothing_fails_fast_and_says_what_is_missing():
    # A publisher on another DDS domain is invisible: the subscriber must time out and name the missing types.
    other = os.environ.copy()
    other["ROS_DOMAIN_ID"] = str((int(os.environ["ROS_DOMAIN_ID"]) + 50) % 200 + 1)
    t0 = time.monotonic()
    sub = _start("sub", "--expect", "1", "--timeout", "2")
    pub = _start("pub", "--count", "3", "--timeout", "3", env=other)
    _, sub_err = sub.communicate(timeout=30)
    pub.communicate(timeout=30)
    assert sub.returncode == 3
    assert "missing messages" in sub_err and "image" in sub_err and "hands" in sub_err
    assert time.monotonic() - t0 < 15
