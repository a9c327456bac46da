"""Entry point of the hands node, usable without the ros2 CLI:

    python -m wildhands_ros --ros-args --params-file config/hands.yaml -r image:=/camera/image_raw

Exit status: 0 after a normal shutdown (Ctrl-C, SIGTERM), 2 when the configuration is invalid (the
message names the parameter), 1 when the node could not start for another reason (e.g. checkpoint).

Shutdown: SIGINT/SIGTERM stop the executor loop, then the node stops its inputs and its inference worker
(the frame in progress is not published) BEFORE the ROS context shuts down, so nothing publishes on a dead
context; this takes well under a second plus at most one 0.5 s wait for the worker. The process then
exits without the interpreter's slow finalisation (:func:`exit_fast`).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the node; ``argv`` = the arguments after the program name (default: ``sys.argv[1:]``)."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from wildhands_ros.node import HandsNode, spin
    from wildhands_ros.params import ParameterError

    args = list(sys.argv if argv is None else ["wildhands_ros", *argv])
    stop = threading.Event()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    node = None
    try:
        node = HandsNode()
    except ParameterError as exc:
        print(f"wildhands_ros: invalid configuration: {exc}", file=sys.stderr, flush=True)
        rclpy.try_shutdown()
        return 2
    except Exception as exc:
        print(
            f"wildhands_ros: the node could not start: {type(exc).__name__}: {exc}",
            file=sys.stderr,
            flush=True,
        )
        rclpy.try_shutdown()
        return 1
    try:
        if not stop.is_set():
            spin(node, stop)
    finally:
        node.stop()
        node.destroy_node()
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def exit_fast(status: int) -> None:
    """Exit with ``status`` without the interpreter's finalisation: once the node and the ROS context are
    shut down (``main`` returned), tearing down torch and friends module by module takes seconds (measured
    3.7-5.5 s under load, past launch's 5 s SIGTERM escalation) and does nothing a robot needs."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_fast(main())
