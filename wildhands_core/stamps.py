"""Time stamps: integer nanoseconds (the project's one time type) <-> ROS ``sec``/``nanosec`` and seconds.

Every stamp in the project is an ``int`` of nanoseconds since the clock's epoch (the image header's stamp
for a frame). ROS messages (rclpy's ``builtin_interfaces/Time`` or rosbags' decoded one) carry it as
``sec`` (int) + ``nanosec`` (int in [0, 1e9)); :func:`stamp_to_ns` reads any object with those two fields.
"""

from __future__ import annotations

from typing import Any

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    """An object with ``sec`` and ``nanosec`` (a ROS Time, rclpy or rosbags) -> int nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_sec_nanosec(ns: int) -> tuple[int, int]:
    """int nanoseconds -> (sec, nanosec) with 0 <= nanosec < 1e9 (floor division, also for ns < 0)."""
    sec, nanosec = divmod(int(ns), NS_PER_S)
    return sec, nanosec


def seconds_to_ns(seconds: float) -> int:
    """A duration or time in seconds -> int nanoseconds, rounded to the nearest."""
    return round(float(seconds) * NS_PER_S)


def ns_to_seconds(ns: int) -> float:
    """int nanoseconds -> seconds (float)."""
    return int(ns) / NS_PER_S


def frame_stamp_ns(index: int, rate_hz: float) -> int:
    """Stamp of frame ``index`` of a stream played at ``rate_hz`` from t = 0: round(index * 1e9 / rate)."""
    return round(int(index) * NS_PER_S / float(rate_hz))
