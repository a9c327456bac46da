"""One-slot mailbox and its inference thread (camera_calibration style): the newest frame wins.

``submit`` never blocks on inference: it puts the item in the single slot, replacing (and counting as
dropped) an item the worker has not started yet. The worker thread takes the slot's item, runs
``process(item)`` and loops; so a slow consumer never builds a queue and latency stays bounded by about
two processing times. No ROS types: usable by the node, the benchmark and tests alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class LatestFrameWorker:
    """Runs ``process(item)`` on the newest submitted item in its own thread.

    Counters (read at any time): ``submitted``, ``processed``, ``dropped`` (replaced before processing),
    ``failed`` (``process`` raised; ``on_error(item, exc)`` is called and the thread goes on).
    ``merge(replaced, new)``, when given, returns what takes the slot when ``new`` replaces an unprocessed
    item (under the slot's lock, so the worker never sees ``new`` without it): e.g. a frame that asked for
    a tracking reset passes the request on to the frame that replaces it.
    """

    def __init__(
        self,
        process: Callable[[Any], None],
        on_error: Callable[[Any, BaseException], None] | None = None,
        on_drop: Callable[[Any], None] | None = None,
        name: str = "wildhands-worker",
        merge: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self._process = process
        self._merge = merge
        self._on_error = on_error
        self._on_drop = on_drop
        self._cond = threading.Condition()
        self._slot: Any = None
        self._has_item = False
        self._busy = False
        self._stop = False
        self.submitted = 0
        self.processed = 0
        self.dropped = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: Any) -> bool:
        """Put ``item`` in the slot; returns True when it replaced an unprocessed item (a drop)."""
        with self._cond:
            replaced = self._has_item
            old = self._slot
            if replaced and self._merge is not None:
                item = self._merge(old, item)
            self._slot, self._has_item = item, True
            self.submitted += 1
            if replaced:
                self.dropped += 1
            self._cond.notify()
        if replaced and self._on_drop is not None:
            self._on_drop(old)
        return replaced

    @property
    def busy(self) -> bool:
        """True while ``process`` runs or an item waits."""
        with self._cond:
            return self._busy or self._has_item

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Block until the slot is empty and nothing runs (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._busy or self._has_item:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread after the item in progress (a waiting item is discarded)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._has_item and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                item, self._slot, self._has_item = self._slot, None, False
                self._busy = True
            try:
                self._process(item)
                ok = True
            except Exception as exc:  # keep the thread alive; the node reports it
                ok = False
                if self._on_error is not None:
                    self._on_error(item, exc)
            with self._cond:
                self._busy = False
                if ok:
                    self.processed += 1
                else:
                    self.failed += 1
                self._cond.notify_all()
