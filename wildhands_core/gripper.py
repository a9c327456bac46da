"""Hand -> parallel-gripper targets: pinch aperture, open/closed state with hysteresis, normalised command.

Per hand and frame (ROS-free; the node publishes ``wildhands_ros/GripperTargetArray``, the bag exporter
writes the same values):

    aperture_m = |joints[THUMB_TIP] - joints[INDEX_TIP]|            metres (any frame: a distance)
    command    = clip((aperture_m - closed_aperture_m) / (open_aperture_m - closed_aperture_m), 0, 1)
                 0 = fingers together (gripper closed), 1 = fully open
    closed     : becomes True when aperture_m < close_below_m, False when aperture_m > open_above_m,
                 unchanged in between (hysteresis); the first observation of a hand in the band between
                 starts open.

The mapping parameters (:class:`GripperConfig`) are in metres of fingertip-joint distance. MANO's tip
joints sit inside the finger pads, so a firm pinch still leaves ~1-2 cm between them: hence the default
``closed_aperture_m`` of 0.02. A hand that is not seen leaves its state as it was; after
``reset_after_s`` without it, the state is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildhands_core.constants import JOINT_NAMES, NUM_JOINTS
from wildhands_core.stamps import seconds_to_ns

THUMB_TIP = JOINT_NAMES.index("thumb_tip")
INDEX_TIP = JOINT_NAMES.index("index_tip")


@dataclass(frozen=True)
class GripperConfig:
    """Aperture (m) -> command mapping and hysteresis thresholds (m); ``reset_after_s``: seconds unseen
    after which a hand's open/closed state is forgotten."""

    closed_aperture_m: float = 0.02
    open_aperture_m: float = 0.10
    close_below_m: float = 0.035
    open_above_m: float = 0.05
    reset_after_s: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.closed_aperture_m < self.open_aperture_m:
            raise ValueError(f"gripper: need 0 <= closed_aperture_m < open_aperture_m, got "
                             f"{self.closed_aperture_m} and {self.open_aperture_m}")
        if not 0.0 < self.close_below_m <= self.open_above_m:
            raise ValueError(f"gripper: need 0 < close_below_m <= open_above_m, got "
                             f"{self.close_below_m} and {self.open_above_m}")
        if self.reset_after_s < 0:
            raise ValueError(f"gripper: reset_after_s must be >= 0, got {self.reset_after_s}")


@dataclass(frozen=True)
class GripperTarget:
    """One hand's gripper target: ``aperture_m`` (m), ``closed`` (hysteresis state), ``command`` in
    [0, 1] (0 closed, 1 open)."""

    aperture_m: float
    closed: bool
    command: float


def pinch_aperture_m(joints_m: np.ndarray) -> np.ndarray:
    """Thumb-tip to index-tip distance, metres, of (..., 21, 3) MANO21 joints -> (...)."""
    j = np.asarray(joints_m, np.float64)
    if j.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must be (..., 21, 3) MANO21, got {j.shape}")
    return np.linalg.norm(j[..., THUMB_TIP, :] - j[..., INDEX_TIP, :], axis=-1)


def gripper_command(aperture_m: np.ndarray | float, cfg: GripperConfig) -> np.ndarray:
    """Normalised parallel-gripper command in [0, 1] (0 closed, 1 open) of apertures in metres."""
    span = cfg.open_aperture_m - cfg.closed_aperture_m
    return np.clip((np.asarray(aperture_m, np.float64) - cfg.closed_aperture_m) / span, 0.0, 1.0)


class GripperTracker:
    """Hysteresis state per hand key (e.g. 0 = left, 1 = right, or a track id) over a stream of frames."""

    def __init__(self, cfg: GripperConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else GripperConfig()
        self._closed: dict[int, bool] = {}
        self._last_seen_ns: dict[int, int] = {}

    def reset(self) -> None:
        self._closed.clear()
        self._last_seen_ns.clear()

    def update(self, key: int, joints_m: np.ndarray, stamp_ns: int) -> GripperTarget:
        """The target of hand ``key`` seen at ``stamp_ns`` with (21, 3) joints (metres)."""
        aperture = float(pinch_aperture_m(joints_m))
        last = self._last_seen_ns.get(key)
        if last is not None and (stamp_ns - last > seconds_to_ns(self.cfg.reset_after_s) or stamp_ns < last):
            self._closed.pop(key, None)  # unseen too long, or time went back (bag restarted)
        closed = self._closed.get(key, False)
        if aperture < self.cfg.close_below_m:
            closed = True
        elif aperture > self.cfg.open_above_m:
            closed = False
        self._closed[key] = closed
        self._last_seen_ns[key] = int(stamp_ns)
        return GripperTarget(aperture, closed, float(gripper_command(aperture, self.cfg)))


__all__ = ["INDEX_TIP", "THUMB_TIP", "GripperConfig", "GripperTarget", "GripperTracker", "gripper_command",
           "pinch_aperture_m"]
