"""State of one tracked hand, and the box the tracker hands out for estimation.

Boxes: (4,) float xyxy in full-image pixels; velocities: (2,) box-centre velocity in px/s (from stamps);
stamps: int ns of the image.
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
    by following the estimates); ``confirmed``: the track passed its birth hysteresis (publish only those).
    """

    track_id: int
    box_xyxy_px: np.ndarray
    is_right: bool
    confirmed: bool = True
    from_detection: bool = False


@dataclass
class Track:
    """One hand over time. Created from a detection; ``HandSmoother`` is new for every track (a hand that
    is lost and found again is a new track with a new id and a fresh smoother)."""

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
    #: detection matched on the latest detection frame (None when unmatched or no detector ran).
    detection: HandDetection | None = None
    keypoints_stamp_ns: int | None = None
    #: fraction of the last estimate's keypoints inside its crop (its plausibility), in [0, 1]
    keypoints_in_crop: float | None = None
    #: centre (2,) px of the estimated keypoints: of the last estimate, and of the estimate made on the
    #: frame of ``box_xyxy_px`` (the last matched detection; None until that frame is estimated)
    keypoints_centre_px: np.ndarray | None = None
    anchor_centre_px: np.ndarray | None = None
    #: consecutive estimates that looked like a hand / did not (``tracking.plausibility``); why the last
    #: one did not (None: it did, or none yet)
    plausible_run: int = 0
    implausible_run: int = 0
    implausible_reason: str | None = None
    #: the side fixed when the track was confirmed (``TrackerConfig.lock_side``); None before
    locked_side: bool | None = None
    #: estimates whose side classifier voted (``HandEstimate.right_prob``)
    side_estimates: int = 0
    #: unmatched this detection frame, inside a detection over two hands: followed, not missed
    held: bool = False
    _centres: dict = field(default_factory=dict, repr=False)

    @property
    def is_right(self) -> bool:
        return self.handedness.is_right if self.locked_side is None else self.locked_side

    @property
    def publishable(self) -> bool:
        """Confirmed, and its latest estimate looked like a hand."""
        return self.confirmed and self.plausible_run > 0

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

    def predicted_box(
        self, stamp_ns: int, max_prediction_s: float, max_follow_gap_s: float,
        image_size: tuple[int, int] | None = None, follow_gain: float = 0.5,
    ) -> np.ndarray:
        """Box expected at ``stamp_ns``: the last detection box, moved by ``follow_gain`` x how far the
        estimated keypoints' centre moved since that detection's frame (when estimates newer than that box
        and at most ``max_follow_gap_s`` old exist), then shifted by velocity * dt from the latest of those
        stamps (dt capped at ``max_prediction_s``); clipped to ``image_size = (W, H)`` when given.

        Only the estimates' motion is followed, never their absolute place or size: a constant offset or
        scale error of the estimator's 2D keypoints (the demo model's boxes of its keypoints are 0.83x the
        true box) moves no box, so following does not drift away from what the detector found."""
        follow = (
            self.anchor_centre_px is not None
            and self.keypoints_centre_px is not None
            and self.keypoints_stamp_ns is not None
            and self.keypoints_stamp_ns >= self.box_stamp_ns
            and (stamp_ns - self.keypoints_stamp_ns) / NS_PER_S <= max_follow_gap_s
        )
        ref_stamp = self.keypoints_stamp_ns if follow else self.box_stamp_ns
        dt_s = min(max((stamp_ns - ref_stamp) / NS_PER_S, 0.0), max_prediction_s)
        shift = self.velocity_px_per_s * dt_s
        if follow:
            shift = shift + follow_gain * (self.keypoints_centre_px - self.anchor_centre_px)
        box = self.box_xyxy_px + np.concatenate([shift, shift])
        if image_size is not None:
            w, h = image_size
            box = np.clip(box, 0.0, np.array([w - 1, h - 1, w - 1, h - 1], dtype=np.float64))
        return box
