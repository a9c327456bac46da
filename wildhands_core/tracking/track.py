"""State of one tracked hand, and the box the tracker hands out for estimation.

Boxes: (4,) float xyxy in full-image pixels; centres, offsets, velocities (2,) px and px/s (from stamps);
sizes (2,) width, height px; stamps: int ns of the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wildhands_core.detection.base import HandDetection
from wildhands_core.smoothing.hand_smoother import HandSmoother
from wildhands_core.stamps import NS_PER_S
from wildhands_core.tracking.handedness import HandednessVote


@dataclass
class TrackedBox:
    """A crop to estimate this frame. ``from_detection``: box is this frame's detection (else predicted
    by following the estimates); ``confirmed``: the track passed its detection hysteresis (the pipeline
    publishes it once its estimates also look like a hand: ``HandTracker.end_frame``).
    """

    track_id: int
    box_xyxy_px: np.ndarray
    is_right: bool
    confirmed: bool = True
    from_detection: bool = False


def box_centre(box_xyxy_px: np.ndarray) -> np.ndarray:
    b = np.asarray(box_xyxy_px, dtype=np.float64)
    return 0.5 * (b[:2] + b[2:])


def box_size(box_xyxy_px: np.ndarray) -> np.ndarray:
    b = np.asarray(box_xyxy_px, dtype=np.float64)
    return b[2:] - b[:2]


def box_of(centre_px: np.ndarray, size_wh_px: np.ndarray) -> np.ndarray:
    half = 0.5 * np.asarray(size_wh_px, dtype=np.float64)
    c = np.asarray(centre_px, dtype=np.float64)
    return np.concatenate([c - half, c + half])


def keypoint_extent(keypoints_px: np.ndarray) -> float:
    """Longest side (px) of the finite keypoints' bounding box (0 when fewer than two)."""
    kp = np.asarray(keypoints_px, dtype=np.float64).reshape(-1, 2)
    kp = kp[np.all(np.isfinite(kp), axis=1)]
    return float(np.max(kp.max(axis=0) - kp.min(axis=0))) if len(kp) >= 2 else 0.0


@dataclass
class Track:
    """One hand over time. Created from a detection; ``HandSmoother`` is new for every track (a hand that
    is lost and found again is a new track with a new id and a fresh smoother).

    The box follows the hand as (centre, size): on a frame without detection the centre is the last
    estimate's keypoint centre plus ``offset_px`` (the box centre minus the keypoint centre on the last
    detection frame: the estimator's constant offset cancels) plus the velocity times the time since that
    estimate; the size is the box size of the last detection frame times how much the estimate's keypoint
    extent grew since then (clipped to [1/1.5, 1.5])."""

    track_id: int
    box_xyxy_px: np.ndarray
    box_stamp_ns: int
    handedness: HandednessVote
    smoother: HandSmoother
    velocity_px_per_s: np.ndarray = field(default_factory=lambda: np.zeros(2))
    hits: int = 1
    missed: int = 0
    confirmed: bool = False
    score: float = 1.0
    #: the side, fixed when the track is confirmed (None before: the handedness vote decides)
    side: bool | None = None
    #: detection matched on the latest detection frame (None when unmatched or no detector ran).
    detection: HandDetection | None = None
    #: stamp (ns) of the last detection frame this track was matched on
    matched_stamp_ns: int = 0
    #: held by its estimates: confirmed, not matched on the last detection frame(s), still estimated
    held: bool = False
    keypoints_stamp_ns: int | None = None
    #: fraction of the last estimate's keypoints inside its crop (its plausibility), in [0, 1]
    keypoints_in_crop: float | None = None
    #: centre (2,) px of the last estimate's keypoints, and its keypoint extent (px)
    keypoints_centre_px: np.ndarray | None = None
    keypoints_extent_px: float = 0.0
    #: bounding box (4,) px of the last estimate's finite keypoints
    keypoints_box_px: np.ndarray | None = None
    #: box centre minus keypoint centre on the last detection frame (px); None until that frame's estimate
    offset_px: np.ndarray | None = None
    #: keypoint extent (px) on the last detection frame
    anchor_extent_px: float = 0.0
    #: consecutive estimates that looked / did not look like a hand (``HandTracker`` plausibility)
    plausible_streak: int = 0
    implausible_streak: int = 0
    #: how far (px) the keypoint centre moved between the last two estimates, over the box's longest side
    keypoint_jump: float = 0.0
    _centres: dict = field(default_factory=dict, repr=False)

    @property
    def is_right(self) -> bool:
        return self.side if self.side is not None else self.handedness.is_right

    @property
    def size_wh_px(self) -> np.ndarray:
        return box_size(self.box_xyxy_px)

    def measure_centre(self, source: str, centre_px: np.ndarray, stamp_ns: int, gain: float) -> None:
        """Update the velocity from two successive centres of the same ``source`` ("det" or "kp")."""
        prev = self._centres.get(source)
        self._centres[source] = (np.asarray(centre_px, dtype=np.float64), int(stamp_ns))
        if prev is None:
            return
        dt_s = (int(stamp_ns) - prev[1]) / NS_PER_S
        if dt_s <= 0.0:
            return
        v = (self._centres[source][0] - prev[0]) / dt_s
        self.velocity_px_per_s = self.velocity_px_per_s + gain * (v - self.velocity_px_per_s)

    def following(self, stamp_ns: int, max_follow_gap_s: float) -> bool:
        """Can the box follow the estimates at ``stamp_ns``: an estimate of (or after) the last detection
        frame, at most ``max_follow_gap_s`` old."""
        return (
            self.offset_px is not None
            and self.keypoints_centre_px is not None
            and self.keypoints_stamp_ns is not None
            and self.keypoints_stamp_ns >= self.box_stamp_ns
            and (stamp_ns - self.keypoints_stamp_ns) / NS_PER_S <= max_follow_gap_s
        )

    def predicted_box(
        self, stamp_ns: int, max_prediction_s: float, max_follow_gap_s: float,
        image_size: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """Box expected at ``stamp_ns``. Following (see ``following``): centred at the last estimate's
        keypoint centre + ``offset_px`` + velocity x dt (dt from that estimate, capped at
        ``max_prediction_s``), of the last detection frame's size scaled by the keypoint extent's growth
        since then (clipped to [1/1.5, 1.5]). Otherwise (no estimate yet, or too old): the last box shifted
        by velocity x dt from its stamp (capped). Clipped to ``image_size = (W, H)`` when given."""
        if self.following(stamp_ns, max_follow_gap_s):
            dt_s = min(max((stamp_ns - self.keypoints_stamp_ns) / NS_PER_S, 0.0), max_prediction_s)
            centre = self.keypoints_centre_px + self.offset_px + self.velocity_px_per_s * dt_s
            scale = 1.0
            if self.anchor_extent_px > 0 and self.keypoints_extent_px > 0:
                scale = float(np.clip(self.keypoints_extent_px / self.anchor_extent_px, 1 / 1.5, 1.5))
            box = box_of(centre, self.size_wh_px * scale)
        else:
            dt_s = min(max((stamp_ns - self.box_stamp_ns) / NS_PER_S, 0.0), max_prediction_s)
            shift = self.velocity_px_per_s * dt_s
            box = self.box_xyxy_px + np.concatenate([shift, shift])
        if image_size is not None:
            w, h = image_size
            box = np.clip(box, 0.0, np.array([w - 1, h - 1, w - 1, h - 1], dtype=np.float64))
        return box
