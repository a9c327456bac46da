"""The node as a managed (lifecycle) node, driven through the lifecycle_msgs services over real DDS from
another process, as ``ros2 lifecycle set`` or a lifecycle manager would."""

from __future__ import annotations

import time

import pytest
from node_harness import Listener, run_player, start_node, stop_node, write_small_checkpoint

pytestmark = pytest.mark.ros


def _call(listener: Listener, client, request, timeout_s: float = 60.0):
    assert client.wait_for_service(timeout_sec=30), f"service {client.srv_name} not available"
    future = client.call_async(request)
    deadline = time.monotonic() + timeout_s
    while not future.done():
        assert time.monotonic() < deadline, f"{client.srv_name}: no answer within {timeout_s} s"
        time.sleep(0.02)
    return future.result()


def test_transitions_load_the_model_subscribe_stop_and_free_it(tmp_path):
    from lifecycle_msgs.msg import State, Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    log = tmp_path / "node.log"
    proc = start_node(write_small_checkpoint(tmp_path / "m.pt"), log, **{"lifecycle.autostart": False})
    listener = Listener()
    try:
        get = listener.node.create_client(GetState, "/hands/get_state")
        change = listener.node.create_client(ChangeState, "/hands/change_state")
        image_topic = "/cam/image_raw"

        def state() -> int:
            return _call(listener, get, GetState.Request()).current_state.id

        def transition(tid: int) -> bool:
            return _call(listener, change, ChangeState.Request(transition=Transition(id=tid))).success

        def image_subscribers() -> int:
            return listener.node.count_subscribers(image_topic)

        assert state() == State.PRIMARY_STATE_UNCONFIGURED
        time.sleep(0.5)
        assert image_subscribers() == 0 and not listener.diagnostics  # nothing loaded, nothing reported

        assert transition(Transition.TRANSITION_CONFIGURE)  # loads the model and warms up
        assert state() == State.PRIMARY_STATE_INACTIVE
        listener.wait_for(lambda: len(listener.diagnostics) > 0, 20, "/diagnostics once configured")
        assert listener.latest_diagnostics()["lifecycle_state"] == "inactive"
        assert image_subscribers() == 0

        assert transition(Transition.TRANSITION_ACTIVATE)
        assert state() == State.PRIMARY_STATE_ACTIVE
        listener.wait_for(lambda: image_subscribers() == 1, 10, "the image subscription")
        sent = run_player("--scenario", "good", "--frames", "1")
        stamps = {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in listener.hands}
        listener.wait_for(lambda: sent["good"][0] in stamps or _refresh(listener, stamps), 10, "hands")

        assert transition(Transition.TRANSITION_DEACTIVATE)
        assert state() == State.PRIMARY_STATE_INACTIVE
        listener.wait_for(lambda: image_subscribers() == 0, 10, "the image subscription to go")

        assert transition(Transition.TRANSITION_CLEANUP)  # frees the model and the publishers
        assert state() == State.PRIMARY_STATE_UNCONFIGURED
        listener.wait_for(
            lambda: listener.node.count_publishers("/hands/hands") == 0, 10, "the hands publisher to go"
        )
        assert transition(Transition.TRANSITION_CONFIGURE)  # and it can be configured again
        assert state() == State.PRIMARY_STATE_INACTIVE
    finally:
        listener.close()
        rc = stop_node(proc)
    assert rc == 0, log.read_text()[-3000:]


def _refresh(listener: Listener, stamps: set) -> bool:
    stamps.update(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in listener.hands)
    return False


def test_the_shutdown_transition_ends_the_process_and_it_leaves_the_graph(tmp_path):
    """The lifecycle ``shutdown`` transition (``ros2 lifecycle set /hands shutdown``, a lifecycle manager)
    finalizes the node: a finalized node can do nothing more, so its process exits (status 0), as launch
    expects of a managed node."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    log = tmp_path / "node.log"
    proc = start_node(write_small_checkpoint(tmp_path / "m.pt"), log)  # autostart: active
    listener = Listener()
    try:
        listener.wait_for(lambda: len(listener.diagnostics) > 0, 90, "the node's first /diagnostics")
        change = listener.node.create_client(ChangeState, "/hands/change_state")
        request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVE_SHUTDOWN))
        assert _call(listener, change, request).success
        rc = proc.wait(10)
        exited = time.monotonic()
        while ("hands", "/") in listener.node.get_node_names_and_namespaces():
            assert time.monotonic() - exited < 3.0, "the node stayed in the graph after shutdown"
            time.sleep(0.02)
    finally:
        listener.close()
        rc_stop = stop_node(proc)
    assert rc == rc_stop == 0, log.read_text()[-3000:]
