"""What a real robot's drivers send, over real Fast DDS between processes: images before their CameraInfo,
lens distortion, broken headers, a resolution change, a flood, SIGTERM under load. One node process for
the module (started as the launch file would); players in their own processes; this process listens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from node_harness import ROBUST_PLAYER, Listener, run_player, running_node

pytestmark = pytest.mark.ros
NS = 1_000_000_000
OVERRIDES = {"smoothing.enabled": False, "input.max_image_pixels": 400_000, "input.camera_info_wait_s": 0.5}


def _play(case: str, *args: str) -> dict:
    return run_player(case, *args, player=ROBUST_PLAYER)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    with running_node(tmp_path_factory.mktemp("robust_node"), **OVERRIDES) as started:
        yield started


def _diag_after(listener: Listener, seconds: float = 0.8) -> dict:
    time.sleep(seconds)  # a few diagnostics periods (0.25 s)
    return listener.latest_diagnostics()


def test_images_sent_before_their_camera_info_use_their_own_and_lonely_images_expire(node):
    listener, _, _ = node
    sent = _play("image_first")
    frames = sorted(sent["answered"].values(), key=lambda f: f["fx_sent"])
    # depth of a crop-based camera is proportional to fx: each frame used ITS CameraInfo
    z0 = frames[0]["z"][0]
    for f in frames:
        assert f["z"][0] / z0 == pytest.approx(f["fx_sent"] / frames[0]["fx_sent"], rel=0.02), frames
    diag = _diag_after(listener, 0.5 + 0.6)  # camera_info_wait_s, then reports
    assert int(diag.get("rejected.camera_info_missing", 0)) >= 2, diag
    assert diag["waiting_for_camera_info"] == "0"  # nothing held for good
    assert "rejected.stamp_backwards" not in diag, diag


def test_a_distorted_camera_is_undistorted_with_maps_built_once(node):
    listener, _, _ = node
    sent = _play("distorted")
    K = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])
    D = np.array([-0.2, 0, 0, 0, 0])
    corners = np.array([[60.0, 70], [140, 170]])  # the right hand's raw box (player BOXES)
    undist = cv2.undistortPoints(corners.reshape(-1, 1, 2), K, D, P=K).reshape(-1, 2)
    for f in sent["answered"].values():
        right = min(f["boxes"], key=lambda b: b[0])
        # the box moved with the image: it encloses the undistorted corners, not the raw ones
        assert right[0] <= undist[0, 0] + 0.5 and right[1] <= undist[0, 1] + 0.5
        assert right[2] >= undist[1, 0] - 0.5 and right[3] >= undist[1, 1] - 0.5
        assert right[0] < 60 - 1 and right[1] < 70 - 1  # barrel distortion undone: pushed outwards
    diag = _diag_after(listener)
    assert diag["undistortion_map_builds"] == "1", diag


def test_broken_headers_and_matrices_are_rejected_by_reason_and_a_time_jump_is_flagged(node):
    listener, _, _ = node
    n_diag = len(listener.diagnostics)
    sent = _play("bad_headers")
    diag = _diag_after(listener)
    for reason in ("frame_id_empty", "stamp_zero", "stamp_future", "camera_info_matrix", "image_too_large"):
        assert int(diag.get(f"rejected.{reason}", 0)) >= 1, (reason, diag)
    assert int(diag.get("flagged.time_jump_reset", 0)) >= 1, diag
    assert float(diag["latency_max_ms"]) < 60_000, diag  # the zero / future stamps never got in
    with listener.lock:
        warns = [
            st.message
            for arr in listener.diagnostics[n_diag:]
            for st in arr.status
            if "hand pose" in st.name and st.level == st.WARN
        ]
    assert any("time_jump_reset" in m for m in warns), warns
    assert len(sent["answered"]) == 1  # the frame after the jump was processed


def test_a_resolution_change_is_answered_from_its_first_frame(node):
    sent = _play("resize")
    [f] = sent["answered"].values()
    assert f["size"] == [640, 480] and len(f["boxes"]) == 2


def test_frames_lost_before_the_callback_are_counted(node):
    listener, _, _ = node
    before = _diag_after(listener, 0.3)
    sent = _play("flood", "--count", "40")
    after = _diag_after(listener)
    received = int(after["frames_received"]) - int(before["frames_received"])
    lost = int(after["frames_lost_before_callback"]) - int(before["frames_lost_before_callback"])
    print(f"flood: sent {sent['sent_images']}, received {received}, lost before the callback {lost}")
    assert received + lost == sent["sent_images"]
    assert "frames_lost_middleware_event" in after


def test_sigterm_under_load_exits_cleanly_and_quickly(node):
    listener, proc, log = node
    flood = subprocess.Popen(
        [sys.executable, str(ROBUST_PLAYER), "flood", "--count", "400"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 30
        start = int(listener.latest_diagnostics().get("frames_received", 0))
        while int(listener.latest_diagnostics().get("frames_received", 0)) < start + 5:
            assert time.monotonic() < deadline, "the flood never reached the node"
            time.sleep(0.1)  # (latest_diagnostics takes the listener's lock: not inside wait_for)
        time.sleep(1.0)  # under load
        offset = log.stat().st_size
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(10)
        took = time.monotonic() - t0
    finally:
        flood.kill()
        flood.wait(10)
    tail = log.read_text()[offset:]
    print(f"SIGTERM to exit: {took:.2f} s")
    assert rc == 0, tail
    assert "ERROR" not in tail and "context is invalid" not in tail, tail
    # target < 1 s (0.5 s measured here under load); the bound leaves room for this loaded machine, and
    # stays below what the previous shutdown took (2.4-3.6 s, launch escalates after 5 s)
    assert took < 2.0, f"{took:.2f} s to exit after SIGTERM"
