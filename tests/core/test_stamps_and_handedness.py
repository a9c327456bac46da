"""The one time helper and the one handedness encoding, checked against hand-computed values and against
the message definitions in msg/ (the encoding the wire uses)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from wildhands_core.camera import project_points
from wildhands_core.handedness import Handedness
from wildhands_core.stamps import frame_stamp_ns, ns_to_sec_nanosec, ns_to_seconds, seconds_to_ns, stamp_to_ns

MSG = Path(__file__).resolve().parents[2] / "msg"


def test_stamp_round_trip_by_hand():
    assert stamp_to_ns(SimpleNamespace(sec=12, nanosec=345_000_006)) == 12_345_000_006
    assert ns_to_sec_nanosec(12_345_000_006) == (12, 345_000_006)
    assert ns_to_sec_nanosec(-1) == (-1, 999_999_999)  # nanosec stays in [0, 1e9)
    assert seconds_to_ns(0.1) == 100_000_000 and seconds_to_ns(1.5e-9) == 2
    assert ns_to_seconds(2_500_000_000) == 2.5
    assert [frame_stamp_ns(i, 30.0) for i in (0, 1, 3)] == [0, 33_333_333, 100_000_000]


@pytest.mark.parametrize("msg", ["Hand.msg", "HandBoxArray.msg", "GripperTarget.msg"])
def test_handedness_values_are_the_messages_constants(msg):
    text = (MSG / msg).read_text()
    consts = dict(re.findall(r"^uint8 (LEFT|RIGHT)=(\d+)", text, flags=re.M))
    assert {k: int(v) for k, v in consts.items()} == {"LEFT": Handedness.LEFT, "RIGHT": Handedness.RIGHT}


def test_handedness_conversions():
    assert Handedness.of(True) is Handedness.RIGHT and Handedness.of(False) is Handedness.LEFT
    assert Handedness.from_label("Right").is_right and Handedness.from_label("left").label == "left"
    with pytest.raises(ValueError, match="'right' or 'left'"):
        Handedness.from_label("r")


def test_project_points_by_hand():
    K = np.array([[500.0, 2.0, 320.0], [0.0, 400.0, 240.0], [0.0, 0.0, 1.0]])
    pts = np.array([[0.1, -0.2, 2.0], [0.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    uv = project_points(pts, K)
    # u = 500*0.05 + 2*(-0.1) + 320 = 344.8, v = 400*(-0.1) + 240 = 200
    np.testing.assert_allclose(uv[0], [344.8, 200.0])
    assert np.isnan(uv[1:]).all()  # behind and on the camera
    assert project_points(pts[None, :1].repeat(2, 0), K).shape == (2, 1, 2)
