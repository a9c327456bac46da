"""Parameters of the hand tracker (not from the paper: WildHands estimates single frames)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TrackerConfig:
    """Track birth/death, association gates and re-detection schedule. Frames = calls of ``update``."""

    #: at most this many live tracks (tentative ones included).
    max_hands: int = 2
    #: at most one left and one right hand (one person's hands); sides are then resolved jointly.
    one_per_side: bool = True
    #: detections needed (on consecutive detection frames) before a track is confirmed (birth hysteresis).
    min_hits: int = 2
    #: a confirmed track dies after more than this many detection frames in a row without a match.
    max_missed: int = 5
    #: a detection may match a track if IoU(predicted box, detection) >= iou_gate ...
    iou_gate: float = 0.1
    #: ... or if their centres are closer than centre_gate * (longest side of the predicted box).
    centre_gate: float = 1.0
    #: association cost = (1 - IoU) + centre_weight * centre distance / box side
    #: + handedness_weight * [sides differ].
    centre_weight: float = 0.5
    handedness_weight: float = 0.3
    #: an unmatched detection overlapping a live track's box by more than this IoU starts no new track.
    birth_iou_suppress: float = 0.3
    #: detections with a lower score are ignored.
    min_detection_score: float = 0.3
    #: run the detector at least every N frames (between them, boxes follow the previous keypoints).
    redetect_every_n: int = 10
    #: with fewer confirmed tracks than ``max_hands``, look for new hands every N frames.
    search_every_n: int = 3
    #: a track whose last estimate has a lower confidence asks for a detection on the next frame.
    min_confidence: float = 0.5
    #: keypoints older than this (s) are not followed; a detection is asked for instead.
    max_follow_gap_s: float = 0.5
    #: relative margin of ``box_from_keypoints`` (per side, times the keypoints' longest side).
    keypoint_box_margin: float = 0.15
    #: weight of a new velocity measurement in the velocity's running average (1 = no averaging).
    velocity_gain: float = 0.5
    #: box predictions extrapolate the velocity over at most this long (s).
    max_prediction_s: float = 0.3
    #: bound of the handedness vote (sum of +-score per detection); a flip needs this much evidence.
    handedness_vote_cap: float = 5.0
    #: boxes narrower or shorter than this (px) after clipping are not estimated.
    min_box_size_px: float = 4.0

    @classmethod
    def from_dict(cls, d: dict) -> TrackerConfig:
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown tracker keys {sorted(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)
