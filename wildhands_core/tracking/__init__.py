"""Hand tracking over time: ids, handedness votes, box prediction, re-detection schedule (no ROS)."""

from wildhands_core.tracking.assignment import assign, association_cost
from wildhands_core.tracking.config import TrackerConfig
from wildhands_core.tracking.handedness import HandednessVote
from wildhands_core.tracking.track import Track, TrackedBox
from wildhands_core.tracking.tracker import HandTracker

__all__ = [
    "HandTracker",
    "HandednessVote",
    "Track",
    "TrackedBox",
    "TrackerConfig",
    "assign",
    "association_cost",
]
