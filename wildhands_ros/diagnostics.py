"""Run-time statistics of the hands node and their ``diagnostic_msgs/DiagnosticArray`` form.

:class:`NodeStats` is thread-safe (subscription callbacks and the worker both report): frames received,
processed and published, frames dropped by the mailbox, frames lost before the callback (publisher sequence
gaps, the middleware's message-lost event), inputs rejected by reason and inputs flagged (kept, but
something is wrong: time jumps, old stamps, fallback frame) by reason, with the last message per reason and
the counts since the previous report; per-frame latency from the image stamp to publication (ms, node
clock; frames with meaningless stamps are left out) and processing time (ms).
:func:`stats_to_diagnostics` turns a snapshot into one DiagnosticStatus.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header


@dataclass
class StatsSnapshot:
    """Counters since start, plus the rate and latency percentiles over the recent window."""

    received: int = 0
    processed: int = 0
    published: int = 0
    dropped: int = 0
    failed: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    last_reject: dict[str, str] = field(default_factory=dict)
    new_rejects: int = 0
    #: reason -> count since the previous snapshot (what is happening now)
    recent_rejects: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    last_flag: dict[str, str] = field(default_factory=dict)
    recent_flags: dict[str, int] = field(default_factory=dict)
    lost_sequence_gaps: int = 0
    lost_middleware: int = 0
    rate_hz: float = 0.0
    latency_p50_ms: float = float("nan")
    latency_p95_ms: float = float("nan")
    latency_max_ms: float = float("nan")
    processing_p50_ms: float = float("nan")
    model_p50_ms: float = float("nan")
    since_last_frame_s: float = float("inf")


class NodeStats:
    """Counters and sliding windows (``window`` frames); ``snapshot()`` also resets ``new_rejects``."""

    def __init__(self, window: int = 100) -> None:
        self._lock = threading.Lock()
        self._latency = deque(maxlen=window)
        self._processing = deque(maxlen=window)
        self._model = deque(maxlen=window)
        self._done_times = deque(maxlen=window)
        self.received = 0
        self.processed = 0
        self.published = 0
        self.dropped = 0
        self.failed = 0
        self.rejected: Counter[str] = Counter()
        self.last_reject: dict[str, str] = {}
        self._recent_rejects: Counter[str] = Counter()
        self.flagged: Counter[str] = Counter()
        self.last_flag: dict[str, str] = {}
        self._recent_flags: Counter[str] = Counter()
        self.lost_sequence_gaps = 0
        self.lost_middleware = 0

    def on_received(self) -> None:
        with self._lock:
            self.received += 1

    def on_dropped(self, n: int = 1) -> None:
        with self._lock:
            self.dropped += n

    def on_failed(self) -> None:
        """``process`` raised (the reason is reported separately with ``on_rejected``)."""
        with self._lock:
            self.failed += 1

    def on_rejected(self, reason: str, message: str) -> None:
        with self._lock:
            self.rejected[reason] += 1
            self.last_reject[reason] = message
            self._recent_rejects[reason] += 1

    def on_flagged(self, reason: str, message: str) -> None:
        """An input kept (processed) although something is wrong with it; raises the diagnostic to WARN."""
        with self._lock:
            self.flagged[reason] += 1
            self.last_flag[reason] = message
            self._recent_flags[reason] += 1

    def on_lost(self, sequence_gaps: int = 0, middleware: int = 0) -> None:
        """Messages that never reached the callback: publisher sequence gaps / the message-lost event."""
        with self._lock:
            self.lost_sequence_gaps += int(sequence_gaps)
            self.lost_middleware += int(middleware)

    def on_processed(
        self, latency_ms: float | None, processing_ms: float, model_ms: float, published: bool
    ) -> None:
        """``latency_ms`` None: the frame's stamp gives no meaningful latency (kept out of the window)."""
        with self._lock:
            self.processed += 1
            self.published += int(published)
            if latency_ms is not None:
                self._latency.append(latency_ms)
            self._processing.append(processing_ms)
            self._model.append(model_ms)
            self._done_times.append(time.monotonic())

    def latencies_ms(self) -> list[float]:
        """Stamp-to-publication latencies (ms) of the frames in the window, oldest first."""
        with self._lock:
            return list(self._latency)

    def processing_ms(self) -> list[float]:
        """Worker time per frame (ms: decode, pipeline, messages, publishing) in the window, oldest first."""
        with self._lock:
            return list(self._processing)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            lat = np.asarray(self._latency, np.float64)
            times = list(self._done_times)
            s = StatsSnapshot(
                received=self.received,
                processed=self.processed,
                published=self.published,
                dropped=self.dropped,
                failed=self.failed,
                rejected=dict(self.rejected),
                last_reject=dict(self.last_reject),
                new_rejects=sum(self._recent_rejects.values()),
                recent_rejects=dict(self._recent_rejects),
                flagged=dict(self.flagged),
                last_flag=dict(self.last_flag),
                recent_flags=dict(self._recent_flags),
                lost_sequence_gaps=self.lost_sequence_gaps,
                lost_middleware=self.lost_middleware,
            )
            if len(lat):
                s.latency_p50_ms, s.latency_p95_ms = (float(v) for v in np.percentile(lat, [50, 95]))
                s.latency_max_ms = float(lat.max())
            if self._processing:
                s.processing_p50_ms = float(np.median(self._processing))
                s.model_p50_ms = float(np.median(self._model))
            self._recent_rejects.clear()
            self._recent_flags.clear()
        if len(times) >= 2 and times[-1] > times[0]:
            s.rate_hz = (len(times) - 1) / (times[-1] - times[0])
        if times:
            s.since_last_frame_s = time.monotonic() - times[-1]
        return s


def stats_to_diagnostics(
    s: StatsSnapshot,
    header: Header,
    name: str,
    hardware_id: str,
    backend: str,
    extra: dict[str, str] | None = None,
    stale_after_s: float = 5.0,
    inactive: bool = False,
) -> DiagnosticArray:
    """One DiagnosticStatus: OK; WARN when inputs were rejected or flagged since the previous report (the
    message names only those reasons, with their counts in that period and the last message); STALE when
    no frame was processed for ``stale_after_s``; OK "inactive" for a lifecycle node not active. Counters
    since start are in the values."""
    level, message = DiagnosticStatus.OK, "running"
    if s.recent_rejects or s.recent_flags:
        level = DiagnosticStatus.WARN
        parts = [
            f"rejected {k} x{n}: {s.last_reject.get(k, '')}" for k, n in sorted(s.recent_rejects.items())
        ] + [f"flagged {k} x{n}: {s.last_flag.get(k, '')}" for k, n in sorted(s.recent_flags.items())]
        message = "; ".join(parts)
    elif inactive:
        message = "inactive (lifecycle): not subscribed"
    elif s.since_last_frame_s > stale_after_s:
        level, message = DiagnosticStatus.STALE, "no frame processed recently"
    values = {
        "backend": backend,
        "rate_hz": f"{s.rate_hz:.2f}",
        "latency_p50_ms": f"{s.latency_p50_ms:.1f}",
        "latency_p95_ms": f"{s.latency_p95_ms:.1f}",
        "latency_max_ms": f"{s.latency_max_ms:.1f}",
        "processing_p50_ms": f"{s.processing_p50_ms:.1f}",
        "model_p50_ms": f"{s.model_p50_ms:.1f}",
        "frames_received": str(s.received),
        "frames_processed": str(s.processed),
        "frames_published": str(s.published),
        "frames_dropped": str(s.dropped),
        "frames_failed": str(s.failed),
        "frames_lost_before_callback": str(s.lost_sequence_gaps),
        "frames_lost_middleware_event": str(s.lost_middleware),
        "rejected_total": str(sum(s.rejected.values())),
    }
    for reason, n in sorted(s.rejected.items()):
        values[f"rejected.{reason}"] = str(n)
        values[f"rejected.{reason}.last"] = s.last_reject.get(reason, "")
    for reason, n in sorted(s.flagged.items()):
        values[f"flagged.{reason}"] = str(n)
        values[f"flagged.{reason}.last"] = s.last_flag.get(reason, "")
    values.update(extra or {})
    status = DiagnosticStatus(
        level=level,
        name=name,
        message=message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=v) for k, v in values.items()],
    )
    return DiagnosticArray(header=header, status=[status])
