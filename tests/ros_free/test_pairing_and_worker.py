"""Image/CameraInfo pairing and the one-slot inference mailbox (plain Python, no ROS)."""

from __future__ import annotations

import threading
import time

import pytest

from wildhands_ros.pairing import Dropped, FramePairer, Paired
from wildhands_ros.worker import LatestFrameWorker

MS = 1_000_000
SIZE = (320, 240)


def _pairer(**kw) -> FramePairer:
    return FramePairer(**{"max_waiting": 3, "reuse_info": False, "max_wait_ns": 500 * MS, **kw})


def test_image_pairs_with_the_camera_info_of_the_same_stamp_and_camera():
    p = _pairer()
    assert p.add_info("cam", 100, "info100", SIZE, 0) == []
    assert p.add_info("other", 200, "other200", SIZE, 0) == []
    [r] = p.add_image("cam", 100, "img100", SIZE, 0)
    assert isinstance(r, Paired) and (r.info, r.reused) == ("info100", False)


def test_image_that_arrives_first_is_paired_with_its_own_camera_info_not_the_previous_one():
    # image_transport's CameraPublisher publishes the image, then its CameraInfo.
    p = _pairer(reuse_info=True)
    p.add_info("cam", 100, "info100", SIZE, 0)
    [r] = p.add_image("cam", 100, "img100", SIZE, 0)
    assert p.add_image("cam", 200, "img200", SIZE, 1 * MS) == [] and p.waiting == 1
    [r] = p.add_info("cam", 200, "info200", SIZE, 2 * MS)
    assert (r.image, r.info, r.reused, p.waiting) == ("img200", "info200", False, 0)


def test_waiting_images_expire_after_the_wait_with_a_counted_reason():
    p = _pairer()
    assert p.add_image("cam", 1, "a", SIZE, 0) == []
    assert p.expire(499 * MS) == []
    [d] = p.expire(500 * MS)
    assert isinstance(d, Dropped) and (d.image, d.reason) == ("a", "camera_info_missing")
    p.add_info("cam", 5, "info5", SIZE, 600 * MS)
    p.add_image("cam", 7, "b", SIZE, 600 * MS)
    [d] = p.expire(1200 * MS)
    assert (d.image, d.reason) == ("b", "camera_info_timeout")
    assert p.waiting == 0


def test_each_camera_has_its_own_bounded_queue():
    p = _pairer(max_waiting=2)
    p.add_image("a", 1, "a1", SIZE, 0)
    p.add_image("a", 2, "a2", SIZE, 0)
    for i in range(2):
        assert p.add_image("b", 10 + i, f"b{i}", SIZE, 0) == []  # b never evicts a
    [d] = p.add_image("a", 3, "a3", SIZE, 0)
    assert (d.image, d.frame_id, d.reason) == ("a1", "a", "camera_info_missing")
    assert p.waiting == 4


def test_a_late_camera_info_never_releases_an_image_after_newer_ones_of_its_camera():
    p = _pairer(reuse_info=True)
    p.add_info("cam", 0, "info0", SIZE, 0)
    released = []
    released += p.add_image("cam", 1, "img1", SIZE, 0)  # waits for info1
    released += p.add_image("cam", 2, "img2", SIZE, 0)  # its info is there, but img1 is first
    released += p.add_info("cam", 2, "info2", SIZE, 0)
    released += p.add_info("cam", 1, "info1", SIZE, 0)  # too late: img1 was released with reuse
    stamps = [r.stamp_ns for r in released]
    assert stamps == sorted(stamps) == [1, 2]
    assert [(r.info, r.reused) for r in released] == [("info2", True), ("info2", False)]


def test_camera_info_is_reused_at_once_for_a_driver_that_sends_it_once():
    p = _pairer(reuse_info=True)
    p.add_info("cam", 100, "info100", SIZE, 0)
    assert p.add_image("cam", 300, "img300", SIZE, 0) == []  # first: waits for its own
    [r] = p.expire(500 * MS)
    assert (r.info, r.reused) == ("info100", True)
    [r] = p.add_image("cam", 400, "img400", SIZE, 501 * MS)  # the camera is known to reuse now
    assert (r.info, r.reused) == ("info100", True)
    assert p.add_image("other_cam", 300, "img", SIZE, 0) == []  # never another camera's info


def test_a_new_resolution_waits_for_its_own_camera_info():
    p = _pairer(reuse_info=True)
    p.add_info("cam", 100, "info_small", SIZE, 0)
    p.add_image("cam", 300, "img300", SIZE, 0)
    p.expire(500 * MS)  # reuse mode now
    assert p.add_image("cam", 400, "big400", (640, 480), 501 * MS) == []
    [r] = p.add_info("cam", 400, "info_big", (640, 480), 502 * MS)
    assert (r.image, r.info, r.reused) == ("big400", "info_big", False)


def _constant_pairer(**kw) -> FramePairer:
    # infos are (calibration, stamp) pairs: interchangeable when the calibration is the same
    return _pairer(reuse_info=True, info_key=lambda info: info[0], constant_after=3, **kw)


def test_an_image_whose_camera_info_is_late_pairs_at_once_when_the_calibration_is_constant():
    p = _constant_pairer()
    for t in (100, 200, 300):
        p.add_info("cam", t, ("K1", t), SIZE, 0)
        assert [r.reused for r in p.add_image("cam", t, f"img{t}", SIZE, 0)] == [False]
    # the CameraInfo of 400 is late (DDS repairing a lost sample): the image does not wait for it
    [r] = p.add_image("cam", 400, "img400", SIZE, 1 * MS)
    assert (r.image, r.info, r.reused, p.waiting) == ("img400", ("K1", 300), True, 0)
    assert p.add_info("cam", 400, ("K1", 400), SIZE, 2 * MS) == []  # nothing left to release


def test_a_changed_calibration_waits_for_each_images_own_camera_info_again():
    p = _constant_pairer()
    for t, k in ((100, "K1"), (200, "K1"), (300, "K2")):  # the newest three differ: not constant
        p.add_info("cam", t, (k, t), SIZE, 0)
        p.add_image("cam", t, f"img{t}", SIZE, 0)
    assert p.add_image("cam", 400, "img400", SIZE, 1 * MS) == [] and p.waiting == 1
    [r] = p.add_info("cam", 400, ("K2", 400), SIZE, 2 * MS)
    assert (r.image, r.info, r.reused) == ("img400", ("K2", 400), False)


def test_constant_calibration_never_pairs_across_sizes_or_without_reuse():
    p = _constant_pairer()
    p.add_info("cam", 50, ("K_big", 50), (640, 480), 0)  # an older CameraInfo of the other size
    for t in (100, 200, 300):
        p.add_info("cam", t, ("K1", t), SIZE, 0)
    assert p.add_image("cam", 400, "big400", (640, 480), 0) == []  # a new resolution waits for its own
    [r] = p.add_info("cam", 400, ("K_big2", 400), (640, 480), 1 * MS)
    assert (r.image, r.info, r.reused) == ("big400", ("K_big2", 400), False)
    exact = _pairer(reuse_info=False, info_key=lambda info: info[0])
    for t in (100, 200, 300):
        exact.add_info("cam", t, ("K1", t), SIZE, 0)
    assert exact.add_image("cam", 400, "img400", SIZE, 0) == []  # reuse off: always its own
    with pytest.raises(ValueError, match="constant_after"):
        _pairer(info_key=lambda info: info, constant_after=0)


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


@pytest.mark.parametrize("max_waiting", [0, -1])
def test_pairer_needs_a_buffer(max_waiting):
    with pytest.raises(ValueError):
        FramePairer(max_waiting=max_waiting)


def test_a_replaced_item_is_merged_into_its_replacement_before_the_worker_sees_it():
    gate = threading.Event()
    seen: list = []

    def process(item):
        gate.wait(5)
        seen.append(item)

    merged: list = []
    w = LatestFrameWorker(process, merge=lambda old, new: merged.append((old, new)) or (new, "kept " + old))
    w.submit("a")  # taken at once by the worker, which waits at the gate
    time.sleep(0.1)
    w.submit("b")
    w.submit("c")  # replaces b: the slot holds merge(b, c)
    gate.set()
    assert w.wait_idle(5)
    w.stop()
    assert merged == [("b", "c")]
    assert seen == ["a", ("c", "kept b")] and w.dropped == 1
