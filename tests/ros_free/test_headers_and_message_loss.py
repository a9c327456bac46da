"""Header checks (frame_id, stamp sanity and order) and counting of messages never received (no DDS)."""

from __future__ import annotations

from wildhands_ros.headers import StampOrder, check_stamp, latency_is_meaningful, resolve_frame_id
from wildhands_ros.message_loss import SequenceGapCounter

S = 1_000_000_000
NOW = 1_700_000_000 * S


def test_empty_frame_id_is_refused_unless_a_default_frame_is_configured():
    assert resolve_frame_id("cam_optical", "fallback") == ("cam_optical", False)
    assert resolve_frame_id("", "") == (None, False)
    assert resolve_frame_id("", "head_cam_optical") == ("head_cam_optical", True)


def test_zero_and_far_future_stamps_are_rejected_with_their_own_reason():
    assert check_stamp(0, NOW, S // 2) == "stamp_zero"
    assert check_stamp(NOW + 86_400 * S, NOW, S // 2) == "stamp_future"  # a day ahead
    assert check_stamp(NOW + S // 4, NOW, S // 2) is None  # small clock skew
    assert check_stamp(NOW + 86_400 * S, 0, S // 2) is None  # sim time not running yet: no reference


def test_latency_is_meaningful_only_for_recent_stamps():
    assert latency_is_meaningful(NOW - S // 10, NOW, 10 * S)
    assert not latency_is_meaningful(NOW - 3600 * S, NOW, 10 * S)  # a bag played without sim time


def test_stamp_order_rejects_small_steps_back_and_resets_on_a_large_jump():
    order = StampOrder(reset_after_ns=S)
    assert order.check("cam", NOW) is None
    assert order.check("cam", NOW) == "duplicate_stamp"
    assert order.check("cam", NOW - S // 20) == "stamp_backwards"
    assert order.check("other", NOW - S // 20) is None  # per camera
    assert order.check("cam", NOW - 60 * S) == "time_jump_reset"
    assert order.last("cam") == NOW - 60 * S


def test_gaps_in_a_publishers_sequence_numbers_are_counted_as_lost():
    c = SequenceGapCounter()
    for pub, seq in [("a", 1), ("a", 2), ("a", 5), ("b", 1), ("a", 6), ("b", 4)]:
        c.on_message(pub, seq)
    assert c.lost == 2 + 2
    assert c.on_message("a", None) == 0 and c.on_message("a", 2**64 - 1) == 0  # not numbered
    assert c.on_message("a", 3) == 0 and c.out_of_order == 1
