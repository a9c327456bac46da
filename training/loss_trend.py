"""Did each loss term go down? The first-vs-last window comparison printed at the end of a training run.

Per-step losses are noisy (a different mixed batch every step), so each term is compared as the mean over
the first ``window`` steps where it was logged vs the mean over the last ``window`` such steps. A term
logged on fewer than ``2 * window`` steps is compared over half of its steps each. ``ratio = last / first``
(< 1: the term went down). Values are the weighted term losses of ``training.losses`` (unitless).
"""

from __future__ import annotations

from dataclasses import dataclass

from training.losses import LOSS_TERMS

__all__ = ["TermTrend", "format_loss_trend", "loss_trend"]


@dataclass(frozen=True)
class TermTrend:
    term: str
    first: float  # mean of the term over its first window of logged steps
    last: float  # mean over its last window
    steps: int  # steps on which the term was logged (active)

    @property
    def ratio(self) -> float:
        return self.last / self.first if self.first > 0 else float("inf")


def loss_trend(history: list[dict[str, float]], window: int = 20) -> list[TermTrend]:
    """Per active term of ``history`` (``Trainer.fit``'s per-step dicts), in ``LOSS_TERMS`` order, then the
    total ``loss``."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    trends = []
    for term in (*LOSS_TERMS, "loss"):
        values = [h[term] for h in history if term in h]
        if len(values) < 2:
            continue
        w = min(window, len(values) // 2)
        first = sum(values[:w]) / w
        last = sum(values[-w:]) / w
        trends.append(TermTrend(term, first, last, len(values)))
    return trends


def format_loss_trend(trends: list[TermTrend]) -> str:
    """A small fixed-width table: term, first-window mean, last-window mean, last/first."""
    lines = [f"{'term':<8}{'first':>12}{'last':>12}{'last/first':>12}"]
    for t in trends:
        lines.append(f"{t.term:<8}{t.first:>12.4g}{t.last:>12.4g}{t.ratio:>12.3f}")
    return "\n".join(lines)
