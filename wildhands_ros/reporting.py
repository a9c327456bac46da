"""How the hands node reports a bad input: counted by reason in the diagnostics, logged at most once per
``LOG_PERIOD_S`` per reason (a camera with a broken driver must not flood the log)."""

from __future__ import annotations

import time
from typing import Any

from wildhands_offline.image_decoding import InputError
from wildhands_ros.diagnostics import NodeStats

#: Shortest time between two log lines of the same reason, seconds (monotonic clock).
LOG_PERIOD_S = 5.0


class Reporter:
    """Rejected inputs (dropped) and flagged ones (kept, but suspicious), counted in ``stats`` and logged
    through ``logger`` (an rclpy logger: ``error`` / ``warning`` / ``info``)."""

    def __init__(self, stats: NodeStats, logger: Any) -> None:
        self.stats = stats
        self._logger = logger
        self._log_times: dict[str, float] = {}

    def log_throttled(self, key: str, level: str, message: str) -> None:
        """Log ``message`` unless a line of ``key`` was logged in the last ``LOG_PERIOD_S`` seconds."""
        now = time.monotonic()
        if now - self._log_times.get(key, -1e9) >= LOG_PERIOD_S:
            self._log_times[key] = now
            # one call site per severity: rclpy refuses a severity change at a call site
            if level == "error":
                self._logger.error(message)
            elif level == "warning":
                self._logger.warning(message)
            else:
                self._logger.info(message)

    def reject(self, reason: str, message: str) -> None:
        self.stats.on_rejected(reason, message)
        self.log_throttled(reason, "error", f"input rejected ({reason}): {message}")

    def flag(self, reason: str, message: str) -> None:
        self.stats.on_flagged(reason, message)
        self.log_throttled(reason, "warning", f"{reason}: {message}")

    def processing_error(self, exc: BaseException) -> None:
        """An exception of the inference thread: an ``InputError`` is a rejected input (by its reason),
        anything else a failed frame (``processing_error``)."""
        if isinstance(exc, InputError):
            self.reject(exc.reason, str(exc))
        else:
            self.stats.on_failed()
            self.reject("processing_error", f"{type(exc).__name__}: {exc}")
