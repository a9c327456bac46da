"""TF frame prefixes: the multi-robot convention ``robot1/`` (robot_state_publisher's ``frame_prefix``) is
accepted by the node and the bag tools alike; a leading '/' (tf2 refuses frame ids that start with one),
whitespace and empty segments are refused."""

from __future__ import annotations

import pytest

from wildhands_offline.hand_fields import frame_prefix_problem


@pytest.mark.parametrize("prefix", ["", "hand_", "robot1/", "robot1/head_", "r1/cams/left/"])
def test_valid_prefixes(prefix):
    assert frame_prefix_problem(prefix) is None


@pytest.mark.parametrize("prefix,why", [("/robot1/", "start with '/'"), ("head cam_", "whitespace"),
                                        ("robot1//", "'//'")])
def test_invalid_prefixes_say_why(prefix, why):
    assert why in frame_prefix_problem(prefix)


def test_the_bag_tools_take_the_same_prefixes():
    from wildhands_offline.process import ProcessConfig

    assert ProcessConfig(tf_prefix="robot1/").tf_prefix == "robot1/"
    with pytest.raises(ValueError, match="start with '/'"):
        ProcessConfig(tf_prefix="/robot1/")
