"""Checks of an input's header (no ROS types needed): frame_id, stamp sanity, per-camera stamp order.

Reasons returned are diagnostics keys:

- ``frame_id_empty``: empty ``frame_id`` and no ``input.default_frame_id`` fallback (TF would go out with an
  empty parent, which tf2 rejects).
- ``stamp_zero``: stamp 0 (the driver did not stamp the image).
- ``stamp_future``: more than ``max_future_ns`` ahead of the node's clock (clock not synchronised).
- ``duplicate_stamp`` / ``stamp_backwards``: not newer than the camera's previous image.
- ``time_jump_reset`` (not a rejection): more than ``reset_after_ns`` older than the previous image, as
  when a bag loops or the clock was reset: tracking restarts.

``stamp_old`` (not a rejection): older than ``max_age_ns`` (e.g. a bag played without ``use_sim_time``):
the frame is processed but kept out of the latency statistics.
Stamps and clock readings are int nanoseconds; ``now_ns = 0`` (sim time before the first /clock) skips the
clock-relative checks.
"""

from __future__ import annotations


def resolve_frame_id(frame_id: str, fallback: str) -> tuple[str | None, bool]:
    """(frame to use, whether the fallback was used); (None, False) when both are empty."""
    if frame_id:
        return frame_id, False
    return (fallback, True) if fallback else (None, False)


def check_stamp(stamp_ns: int, now_ns: int, max_future_ns: int) -> str | None:
    """``stamp_zero`` / ``stamp_future`` or None."""
    if stamp_ns <= 0:
        return "stamp_zero"
    if now_ns > 0 and stamp_ns - now_ns > max_future_ns:
        return "stamp_future"
    return None


def latency_is_meaningful(stamp_ns: int, now_ns: int, max_age_ns: int) -> bool:
    """False for stamps older than ``max_age_ns`` (or a clock not yet running)."""
    return now_ns > 0 and now_ns - stamp_ns <= max_age_ns


class StampOrder:
    """The last stamp per camera; :meth:`check` classifies the next one."""

    def __init__(self, reset_after_ns: int) -> None:
        self.reset_after_ns = int(reset_after_ns)
        self._last: dict[str, int] = {}

    def clear(self) -> None:
        self._last.clear()

    def check(self, camera: str, stamp_ns: int) -> str | None:
        """None (newer), ``time_jump_reset`` (accepted, tracking must reset), or a rejection reason
        (``duplicate_stamp``, ``stamp_backwards``). Accepted stamps become the camera's last."""
        last = self._last.get(camera)
        verdict = None
        if last is not None and stamp_ns <= last:
            if stamp_ns == last:
                return "duplicate_stamp"
            if last - stamp_ns < self.reset_after_ns:
                return "stamp_backwards"
            verdict = "time_jump_reset"
        self._last[camera] = stamp_ns
        return verdict

    def last(self, camera: str) -> int | None:
        return self._last.get(camera)
