"""Entry point of the hands node, usable without the ros2 CLI:

    python -m wildhands_ros --ros-args --params-file config/hands.yaml -r image:=/camera/image_raw

Exit status: 0 after a normal shutdown (Ctrl-C, SIGTERM), 2 when the configuration is invalid (the
message names the parameter), 1 when the node could not start for another reason (e.g. checkpoint).

Shutdown: SIGINT/SIGTERM stop the executor loop, then the node stops its inputs and its inference worker
(the frame in progress is not published) BEFORE the ROS context shuts down, so nothing publishes on a dead
context; the node (with its lifecycle state machine) is destroyed and the context shut down and released,
so the node leaves the ROS graph at once (peers, ``ros2 node list`` and publishers' subscriber counts see
it and its endpoints go now, not when its discovery lease of about 20 s expires). This takes well under a
second plus at most one 0.5 s wait for the worker; a teardown that hangs is cut off after
``TEARDOWN_LIMIT_S`` (exit status 1). The process then exits without the interpreter's slow finalisation
(:func:`exit_fast`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

#: Longest teardown (node, context) after the spin loop ended, s; past it the process exits with status 1.
TEARDOWN_LIMIT_S = 5.0


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
        leave_graph(None, rclpy.get_default_context())
        return 2
    except Exception as exc:
        print(
            f"wildhands_ros: the node could not start: {type(exc).__name__}: {exc}",
            file=sys.stderr,
            flush=True,
        )
        leave_graph(None, rclpy.get_default_context())
        return 1
    try:
        if not stop.is_set():
            spin(node, stop)
    finally:
        leave_graph(node, node.context)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def leave_graph(node, context, limit_s: float = TEARDOWN_LIMIT_S) -> None:
    """Stop ``node`` (inputs, worker), destroy it (peers see it and its endpoints go at once), shut
    ``context`` down and release it. Past ``limit_s`` a hanging teardown is cut off: the process exits with
    status 1 (a watchdog thread)."""

    def give_up() -> None:
        print(f"wildhands_ros: teardown took over {limit_s:.0f} s; exiting without it", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)

    watchdog = threading.Timer(limit_s, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        if node is not None:
            node.stop()
            node.destroy_node()
        context.try_shutdown()
        finalise = getattr(context, "destroy", None)  # rclpy >= Iron; Humble: through the handle
        if finalise is not None:
            finalise()
        elif context.handle is not None:
            context.handle.destroy_when_not_in_use()
    finally:
        watchdog.cancel()


def exit_fast(status: int) -> None:
    """Exit with ``status`` without the interpreter's finalisation: once the node and the ROS context are
    shut down (``main`` returned), tearing down torch and friends module by module takes seconds (measured
    3.7-5.5 s under load, past launch's 5 s SIGTERM escalation) and does nothing a robot needs."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_fast(main())
