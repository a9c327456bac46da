"""Parameters of the hand tracker (not from the paper: WildHands estimates single frames).

Each field documents itself (``wildhands_core.config.setting``: description, range); the ROS node's
``tracking.*`` parameters, ``model.max_hands`` and the detectors' score floor are read from these defaults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from wildhands_core.config import dataclass_from_dict, setting


@dataclass
class TrackerConfig:
    """Track birth/death, association gates and re-detection schedule. Frames = calls of ``update``."""

    max_hands: int = setting(2, description="hands estimated per image at most", range=(1, 8))
    one_per_side: bool = setting(True, description="at most one left and one right hand")
    min_hits: int = setting(2, description="detections before a new track is published", range=(1, 100))
    max_missed: int = setting(
        5, description="detection frames without match before a track dies", range=(0, 1000)
    )
    iou_gate: float = setting(
        0.1, description="a detection may match a track if IoU(predicted box, detection) >= this ...",
        range=(0.0, 1.0),
    )
    centre_gate: float = setting(
        1.0, description="... or if their centres are closer than this x the predicted box's longest side",
    )
    centre_weight: float = setting(
        0.5, description="association cost = (1 - IoU) + this x centre distance / box side + "
        "handedness_weight x [sides differ]",
    )
    handedness_weight: float = setting(
        0.3, description="association cost of a detection of the other side"
    )
    birth_iou_suppress: float = setting(
        0.3, description="an unmatched detection overlapping a live track's box by more IoU starts no track",
        range=(0.0, 1.0),
    )
    min_detection_score: float = setting(
        0.3, description="detections with a lower score are ignored", range=(0.0, 1.0)
    )
    low_detection_score: float = setting(
        0.1, description="a detection down to this score may keep a track it overlaps by IoU >= "
        "low_score_iou_gate (never start one): a hand the detector grows unsure of, e.g. touching the other, "
        "keeps its own box rather than the best-scoring box nearby", range=(0.0, 1.0),
    )
    low_score_iou_gate: float = setting(
        0.3, description="see low_detection_score", range=(0.0, 1.0),
    )
    merged_box_cover: float = setting(
        0.5, description="a detection covering this fraction of the predicted boxes of two tracks each, "
        "while fitting neither (IoU < merged_box_max_iou), is one box over two hands: matched to neither, it "
        "starts no track, and the two are estimated on their predicted boxes without counting a miss "
        "(>1: off)",
        range=(0.0, 2.0),
    )
    merged_box_max_iou: float = setting(0.5, description="see merged_box_cover", range=(0.0, 1.0))
    redetect_every_n: int = setting(
        2, description="run the detector at least every N frames (2: chosen on validation seeds 90003-90006 "
        "with the demo's learned detector, 9 ms a call on 2 cores, benchmarks/track_quality.py; MediaPipe "
        "costs about 28 ms a call there: on a CPU-bound node a larger N keeps the frame rate)",
        range=(1, 1000),
    )
    redetect_every_s: float = setting(
        0.34, description="... and at least every this long of image time (s): at a low processing rate, "
        "keypoints are followed over no more motion than at the camera's full rate", range=(0.0, 60.0),
    )
    search_every_n: int = setting(3, description="look for new hands every N frames", range=(1, 1000))
    min_keypoints_in_crop: float = setting(
        0.9, description="a track whose last estimate has a smaller fraction of its keypoints inside its "
        "crop asks for a detection next frame (the estimate's own plausibility, whatever the detector's "
        "scores)",
        range=(0.0, 1.0),
    )
    require_plausible: bool = setting(
        True, description="publish a track only while its estimates look like a hand, and end it after "
        "max_implausible_estimates that do not (false: nothing is withheld or ended by the checks; for a "
        "camera or a model they do not fit)",
    )
    min_plausible_estimates: int = setting(
        1, description="consecutive estimates that look like a hand (keypoints in the crop, depth and size "
        "plausible: tracking.plausibility) before a track is published, besides min_hits detections",
        range=(0, 100),
    )
    max_implausible_estimates: int = setting(
        3, description="consecutive estimates that do not look like a hand that end a track", range=(1, 1000)
    )
    min_hand_depth_m: float = setting(
        0.05, description="a hand's wrist is at least this far in front of the camera (m, optical z)",
        range=(0.0, 100.0),
    )
    max_hand_depth_m: float = setting(
        3.0, description="... and at most this far (m): beyond, the estimate is not a hand of this camera",
        range=(0.0, 100.0),
    )
    min_hand_size_ratio: float = setting(
        0.25, description="the estimate's keypoints span at least this x the longest side of its box",
        range=(0.0, 100.0),
    )
    max_hand_size_ratio: float = setting(
        2.5, description="... and at most this x", range=(0.0, 100.0),
    )
    max_keypoint_offset: float = setting(
        float("inf"), description="... and the mean of its keypoints lies at most this x the box's longest "
        "side from the centre of the box it was estimated from (inf: not checked)", range=(0.0, float("inf")),
    )
    lock_side: bool = setting(
        True, description="a published track never changes side: detections that turn its handedness "
        "vote end it, and the hand is followed by a new track of the other side",
    )
    replace_lost_side: bool = setting(
        True, description="with one_per_side: a detection of a side whose track the detector did not match "
        "this frame ends that track and starts a new one (the hand was found away from the track's box), "
        "instead of being dropped until the track dies of max_missed",
    )
    max_follow_gap_s: float = setting(
        0.5, description="keypoints older than this are not followed; a detection is asked for (s)",
    )
    follow_gain: float = setting(
        0.0, description="between detections a box moves by this x the motion of its estimates' keypoint "
        "centre (1: all of it; 0: not at all, the box moves with its velocity alone: the demo estimator's "
        "keypoint centre is a noisier measure of the hand's place than the detector's box and follows the "
        "crop it is given, benchmarks/track_quality.py)", range=(0.0, 1.0),
    )
    velocity_from_estimates: bool = setting(
        False, description="the estimates' keypoint centres also measure a track's box velocity (false: the "
        "matched detections alone)",
    )
    detection_gain: float = setting(
        0.5, description="a detection matched to a followed, confirmed track moves its box this x of the way "
        "from the box it predicted to the detection (1: to the detection; less damps the re-detection jump)",
        range=(0.0, 1.0),
    )
    keypoint_box_margin: float = setting(
        0.15, description="margin of a box from a landmark detector's keypoints (MediaPipe), per side, "
        "times the keypoints' longest side",
    )
    velocity_gain: float = setting(
        0.5, description="weight of a new velocity measurement in its running average (1 = no averaging)",
        range=(0.0, 1.0),
    )
    max_prediction_s: float = setting(
        0.3, description="box predictions extrapolate the velocity over at most this long (s)",
    )
    estimate_side_weight: float = setting(
        1.0, description="weight of the estimator's own side (its side classifier's P(right), when the model "
        "has one) in a track's handedness vote: each estimate adds +-min(1, weight x |2 P(right) - 1|), a "
        "detection +-its score (0: the detector's labels alone decide)", range=(0.0, 10.0),
    )
    handedness_vote_cap: float = setting(
        2.0, description="bound of the handedness vote (sum of +-score per detection and of the estimates' "
        "side votes): the evidence a flip needs (2: chosen on validation seeds 90003-90006 with the demo "
        "model's side classifier, benchmarks/track_quality.py)",
    )
    min_box_size_px: float = setting(
        4.0, description="boxes narrower or shorter than this after clipping are not estimated (px)",
    )

    @classmethod
    def from_dict(cls, d: dict) -> TrackerConfig:
        return dataclass_from_dict(cls, d)

    def to_dict(self) -> dict:
        return asdict(self)
