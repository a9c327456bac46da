"""Output written straight to the file descriptors (as smplx's print and MediaPipe's native TFLite/absl logs
are) is captured and handed to the caller line by line, also when the block raises; the descriptors are
restored afterwards."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from wildhands_core.captured_output import reports_a_problem

CHILD = r"""
import os, sys
from wildhands_core.captured_output import captured_output
lines = []
with captured_output(lines.append):
    print("WARNING: You are using a MANO model, with only 10 shape coefficients.")
    os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(1, b"W0000 00:00:1 1 inference_feedback_manager.cc:114] Feedback manager\n\n")
try:
    with captured_output(lines.append):
        os.write(2, b"E0000 failed\n")
        raise RuntimeError("boom")
except RuntimeError:
    pass
print("after")
sys.stderr.write("err after\n")
sys.stderr.flush()
print("CAPTURED", lines, file=sys.stderr)
"""


def test_prints_and_native_writes_are_captured_and_the_descriptors_restored():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    res = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "after\n"  # nothing captured leaked, stdout works again
    err_lines = res.stderr.splitlines()
    assert err_lines[0] == "err after"
    captured = ast.literal_eval(err_lines[1].removeprefix("CAPTURED "))
    assert captured == [
        "WARNING: You are using a MANO model, with only 10 shape coefficients.",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
        "W0000 00:00:1 1 inference_feedback_manager.cc:114] Feedback manager",
        "E0000 failed",
    ]


def test_error_lines_are_told_from_noise():
    assert reports_a_problem("E0000 00:00:1 1 gl_context.cc:357] GL version") is True
    assert reports_a_problem("Traceback (most recent call last):") is True
    assert reports_a_problem("W0000 00:00:1 1 inference_feedback_manager.cc:114] Feedback manager") is False
    assert reports_a_problem("WARNING: You are using a MANO model, with only 10 shape coefficients.") is False
