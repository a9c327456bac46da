"""Image/CameraInfo pairing and the one-slot inference mailbox (plain Python, no ROS)."""

from __future__ import annotations

import threading
import time

import pytest

from wildhands_ros.pairing import Dropped, FramePairer, Paired
from wildhands_ros.worker import LatestFrameWorker


def test_image_pairs_with_the_camera_info_of_the_same_stamp_and_camera():
    p = FramePairer(buffer_size=3, reuse_info=False)
    assert p.add_info("cam", 100, "info100") == []
    assert p.add_info("other", 200, "other200") == []
    [r] = p.add_image("cam", 100, "img100")
    assert isinstance(r, Paired) and (r.info, r.reused) == ("info100", False)


def test_image_that_arrives_first_waits_for_its_camera_info():
    p = FramePairer(buffer_size=3, reuse_info=False)
    assert p.add_image("cam", 100, "img100") == [] and p.waiting == 1
    [r] = p.add_info("cam", 100, "info100")
    assert (r.image, r.info, p.waiting) == ("img100", "info100", 0)


def test_last_camera_info_of_the_same_camera_is_reused_when_allowed():
    p = FramePairer(buffer_size=3, reuse_info=True)
    p.add_info("cam", 100, "info100")
    [r] = p.add_image("cam", 300, "img300")
    assert (r.info, r.reused) == ("info100", True)
    assert p.add_image("other_cam", 300, "img") == []  # never reuse another camera's info


def test_images_without_camera_info_are_dropped_when_the_buffer_overflows():
    p = FramePairer(buffer_size=2, reuse_info=True)
    assert p.add_image("cam", 1, "a") == []
    assert p.add_image("cam", 2, "b") == []
    [d] = p.add_image("cam", 3, "c")
    assert isinstance(d, Dropped) and (d.image, d.reason) == ("a", "camera_info_missing")
    assert p.waiting == 2


def _slow_worker(delay_s: float):
    done: list[int] = []
    started = threading.Event()

    def process(item: int) -> None:
        started.set()
        time.sleep(delay_s)
        done.append(item)

    return LatestFrameWorker(process), done, started


def test_submit_never_waits_for_inference():
    w, _, started = _slow_worker(0.5)
    w.submit(0)
    started.wait(2)
    t0 = time.perf_counter()
    for i in range(1, 20):
        w.submit(i)
    assert time.perf_counter() - t0 < 0.1
    w.stop()


def test_newest_frame_wins_and_every_replaced_frame_is_counted():
    w, done, started = _slow_worker(0.2)
    w.submit(0)
    started.wait(2)  # 0 is being processed; 1..4 each replace the previous one in the slot
    for i in range(1, 5):
        w.submit(i)
    assert w.wait_idle(5)
    assert done == [0, 4]
    assert (w.submitted, w.processed, w.dropped) == (5, 2, 3)
    w.stop()


def test_errors_are_reported_and_the_worker_keeps_going():
    errors = []

    def process(item):
        if item == "bad":
            raise ValueError("boom")

    w = LatestFrameWorker(process, on_error=lambda item, exc: errors.append((item, str(exc))))
    w.submit("bad")
    w.wait_idle(2)
    w.submit("good")
    assert w.wait_idle(2)
    assert errors == [("bad", "boom")] and (w.failed, w.processed) == (1, 1)
    w.stop()


@pytest.mark.parametrize("buffer_size", [0, -1])
def test_pairer_needs_a_buffer(buffer_size):
    with pytest.raises(ValueError):
        FramePairer(buffer_size=buffer_size)
