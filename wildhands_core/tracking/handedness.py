"""Running handedness vote of one track: a single flipped detection cannot flip the decision."""

from __future__ import annotations


class HandednessVote:
    """Sum of +score (right) / -score (left) over the track's detections, clipped to +-cap.

    ``is_right`` is ``vote > 0`` (ties keep the side of the first detection). One detection moves the vote
    by at most 1 (scores are in [0, 1]), so a track seen as right twice (vote >= 2 * score) stays right
    after one left detection of a lower or equal score; the cap bounds how much evidence a real flip needs.
    """

    def __init__(self, is_right: bool, score: float = 1.0, cap: float = 5.0) -> None:
        self.cap = float(cap)
        self._first_right = bool(is_right)
        self.vote = 0.0
        self.add(is_right, score)

    def add(self, is_right: bool, score: float = 1.0) -> None:
        s = min(max(float(score), 0.0), 1.0)
        self.vote = min(max(self.vote + (s if is_right else -s), -self.cap), self.cap)

    def force(self, is_right: bool) -> None:
        """Set the side (used when two tracks claim the same side): the vote keeps its size, changes sign."""
        if self.is_right != bool(is_right):
            self.vote = -self.vote
            self._first_right = bool(is_right)

    @property
    def is_right(self) -> bool:
        return self.vote > 0.0 if self.vote != 0.0 else self._first_right

    @property
    def margin(self) -> float:
        """Strength of the current decision (|vote|)."""
        return abs(self.vote)
