"""The release's whole-pixel crop squares (``release`` input convention), from the authors' demo code:
ap229997/hands, branch ``demo`` (35cfcb0), ``wildhands/datasets/dataset.py`` L53-84 and
``wildhands/common/data_utils.py`` (``transform`` L37-44, ``j2d_processing`` L273-290, ``normalize_kp2d_np``
L347-351). Expected values derived by hand below, step by step."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_core.preprocess import crop_and_kpe_boxes


def _float32_round_trip(k: int) -> np.float32:
    """A whole-pixel corner k after the demo's trip to [-1, 1] in float32 and back (``normalize_kp2d_np``
    in float64, ``astype("float32")``, then ``((p + 1) / 2) * 224`` in float32, dataset.py L57)."""
    unit = np.float32(2.0 * k / 224 - 1.0)
    return (unit + np.float32(1)) / np.float32(2) * np.float32(224)


def test_the_float32_round_trip_leaves_some_whole_pixels_just_below_themselves() -> None:
    assert _float32_round_trip(2) < 2 and int(_float32_round_trip(2)) == 1
    assert _float32_round_trip(11) < 11 and int(_float32_round_trip(11)) == 10
    assert _float32_round_trip(21) == 21 and _float32_round_trip(51) == 51
    assert _float32_round_trip(1) > 1 and _float32_round_trip(42) == 42


@pytest.mark.parametrize(
    ("box", "scale", "crop", "kpe"),
    [
        # corners trunc(u') + 1 = 11, 21, 51, 61; 11 -> 10.999998 -> x0 = 10; centre ((10 + 51) // 2,
        # (21 + 61) // 2) = (30, 41); side max(41, 40) = 41 -> 71.75; KPE half 71.75 // 2 = 35
        ([10.4, 20.7, 50.2, 60.9], 1.75, [-5.875, 5.125, 65.875, 76.875], [0.0, 6.0, 65.0, 76.0]),
        # corners 2, 11, 42, 31 -> x0 = int(1.999999) = 1, y0 = int(10.999998) = 10, x1 = 42, y1 = 31;
        # centre (21, 20); side max(41, 21) = 41; KPE half 20
        ([1.5, 10.0, 41.5, 30.0], 1.0, [0.5, -0.5, 41.5, 40.5], [1.0, 0.0, 41.0, 40.0]),
        # trunc(-0.5) + 1 = 1, trunc(-3.2) + 1 = -2 -> clipped to 0, 30.9 -> 31, 27.99 -> 28;
        # centre (16, 14); side max(30, 28) = 30 -> 45; KPE half 22, clipped at 0
        ([-0.5, -3.2, 30.9, 27.99], 1.5, [-6.5, -8.5, 38.5, 36.5], [0.0, 0.0, 38.0, 36.0]),
    ],
)
def test_release_crops_are_built_from_the_box_rounded_as_the_release_rounds_it(box, scale, crop, kpe) -> None:
    """The demo maps each box corner with ``transform`` (``astype(int) + 1``), sends it to [-1, 1] and back in
    float32, clips it to [0, 223] (dataset.py L54-59), then ``crop_and_pad`` (L78-83) takes
    ``x0 = int(a)``, ``x1 = int(a + w)``, the centre ``(x0 + x1) // 2``, the integer side ``max(w, h)``, cuts
    the square of side ``side x scale`` around that centre and gives the KPE the box ``centre -/+
    (side x scale) // 2`` clipped to [0, 223] as int16."""
    got_crop, got_kpe = crop_and_kpe_boxes(np.array([box]), scale, "release")
    np.testing.assert_array_equal(got_crop, [crop])
    np.testing.assert_array_equal(got_kpe, [kpe])


def test_the_project_convention_keeps_float_boxes() -> None:
    """``wildhands_v1``: the float square (centre (30.3, 40.8), side 1.75 x 40.2) clipped to [0, 223]."""
    crop, kpe = crop_and_kpe_boxes(np.array([[10.4, 20.7, 50.2, 60.9]]), 1.75, "wildhands_v1")
    half = 1.75 * 40.2 / 2
    np.testing.assert_allclose(crop, [[0.0, 40.8 - half, 30.3 + half, 40.8 + half]])
    np.testing.assert_allclose(kpe, crop)
