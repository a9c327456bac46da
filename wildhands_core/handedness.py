"""Handedness: one encoding, the one of the messages (``Hand.msg``, ``HandBoxArray.msg``,
``GripperTarget.msg``: ``uint8 LEFT=0``, ``uint8 RIGHT=1``).

In code a hand's side is a ``bool is_right`` or a :class:`Handedness`; strings (``"right"``/``"left"``) are
only for file names, dataset labels and frame names (:attr:`Handedness.label`).
"""

from __future__ import annotations

from enum import IntEnum


class Handedness(IntEnum):
    """A hand's side; the values are the messages' ``LEFT`` / ``RIGHT`` constants."""

    LEFT = 0
    RIGHT = 1

    @classmethod
    def of(cls, is_right: bool) -> Handedness:
        return cls.RIGHT if is_right else cls.LEFT

    @classmethod
    def from_label(cls, label: str) -> Handedness:
        """"right" / "left" (any case) -> the side; anything else raises ``ValueError``."""
        try:
            return cls[str(label).upper()]
        except KeyError:
            raise ValueError(f"handedness label must be 'right' or 'left', got {label!r}") from None

    @property
    def is_right(self) -> bool:
        return self is Handedness.RIGHT

    @property
    def label(self) -> str:
        """"right" or "left"."""
        return self.name.lower()
