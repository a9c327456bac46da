"""What third-party libraries write straight to the process's standard output and error, captured so that
the caller can route it through its own logger: Python prints (smplx's "You are using a MANO model ...")
and native logs (TFLite's "Created TensorFlow Lite XNNPACK delegate", absl's warnings from MediaPipe)
alike, since the capture is of the file descriptors 1 and 2, not of ``sys.stdout``.

The capture is process-wide: anything another thread writes meanwhile is captured too (and routed the same
way), so wrap only the calls that print (model loading, warm-up), never a running system.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator

#: Lines of native libraries that report a problem (absl/glog E and F lines, explicit errors).
_PROBLEM_MARKS = ("ERROR", "Error", "Traceback", "FATAL")


def reports_a_problem(line: str) -> bool:
    """True for a captured line that reports an error (absl/glog ``E0000``/``F0000`` lines, ``ERROR``,
    a traceback), which a logger should show above debug level."""
    head = line.lstrip()
    glog_error = len(head) > 4 and head[0] in "EF" and head[1:5].isdigit()
    return glog_error or any(mark in line for mark in _PROBLEM_MARKS)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()


@contextlib.contextmanager
def captured_output(sink: Callable[[str], None]) -> Iterator[None]:
    """Run the block with file descriptors 1 and 2 redirected to a temporary file; afterwards (also when
    the block raises) restore them and call ``sink(line)`` for each non-empty line written meanwhile."""
    _flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    tmp = tempfile.TemporaryFile()
    try:
        for fd in saved:
            os.dup2(tmp.fileno(), fd)
        yield
    finally:
        _flush()
        for fd, original in saved.items():
            os.dup2(original, fd)
            os.close(original)
        tmp.seek(0)
        text = tmp.read().decode("utf-8", errors="replace")
        tmp.close()
        for line in text.splitlines():
            if line.strip():
                sink(line.rstrip())
