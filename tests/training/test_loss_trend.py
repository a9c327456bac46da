"""The first-vs-last window comparison of loss terms printed at the end of a training run."""

from __future__ import annotations

import pytest

from training.loss_trend import format_loss_trend, loss_trend


def test_each_term_is_compared_over_its_own_first_and_last_window():
    history = [
        {"theta": 4.0, "loss": 4.0},
        {"theta": 2.0, "mask": 8.0, "loss": 10.0},
        {"theta": 3.0, "mask": 6.0, "loss": 9.0},
        {"theta": 1.0, "mask": 2.0, "loss": 3.0},
        {"theta": 1.0, "mask": 1.0, "loss": 2.0},
    ]
    trends = {t.term: t for t in loss_trend(history, window=2)}
    assert list(trends) == ["theta", "mask", "loss"]  # LOSS_TERMS order, then the total
    assert (trends["theta"].first, trends["theta"].last, trends["theta"].steps) == (3.0, 1.0, 5)
    # mask was logged on 4 steps: first window (8 + 6) / 2, last (2 + 1) / 2
    assert (trends["mask"].first, trends["mask"].last) == (7.0, 1.5)
    assert trends["mask"].ratio == pytest.approx(1.5 / 7.0)


def test_a_short_history_uses_half_of_its_steps_per_window_and_single_steps_are_left_out():
    history = [{"kp2d": 6.0, "grasp": 1.0}, {"kp2d": 2.0}, {"kp2d": 4.0}]
    trends = {t.term: t for t in loss_trend(history, window=20)}
    assert "grasp" not in trends  # logged once: nothing to compare
    assert (trends["kp2d"].first, trends["kp2d"].last) == (6.0, 4.0)  # window min(20, 3 // 2) = 1


def test_the_table_has_a_row_per_term_with_the_ratio():
    text = format_loss_trend(loss_trend([{"cam": 2.0}, {"cam": 0.5}], window=1))
    lines = text.splitlines()
    assert lines[0].split() == ["term", "first", "last", "last/first"]
    assert lines[1].split() == ["cam", "2", "0.5", "0.250"]


def test_a_window_below_one_is_refused():
    with pytest.raises(ValueError, match="window"):
        loss_trend([], window=0)
