"""Messages a subscription never received, from the publishers' sequence numbers (no ROS types needed).

Every DDS sample carries its publisher's sequence number (rmw ``publication_sequence_number``, given to a
subscription callback that takes ``(msg, message_info)``). A gap between two consecutive numbers of the same
publisher = messages sent but never handed to the callback: lost in transport, or overwritten in the
subscription's history (depth) before the executor took them. Not seen: messages lost after the last one
received, and messages of publishers whose middleware reports no sequence numbers.
"""

from __future__ import annotations


class SequenceGapCounter:
    """Counts missing sequence numbers per publisher (``publisher`` = any hashable id, e.g. its GID)."""

    def __init__(self) -> None:
        self._last: dict[object, int] = {}
        self.lost = 0
        self.out_of_order = 0

    def on_message(self, publisher: object, sequence_number: int | None) -> int:
        """Record one received message; returns the messages found missing just before it."""
        if sequence_number is None or sequence_number <= 0 or sequence_number >= 2**63:
            return 0  # the middleware does not number its samples
        last = self._last.get(publisher)
        if last is not None and sequence_number <= last:
            self.out_of_order += 1
            return 0
        self._last[publisher] = sequence_number
        gap = 0 if last is None else sequence_number - last - 1
        self.lost += gap
        return gap
