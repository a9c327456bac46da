"""HandTracker: tracks earn their place (detections and estimates that look like a hand), one track per
hand, boxes that follow the estimates and re-detections that move them by part of the disagreement.

Scripted boxes and keypoints; every expected number is worked out in the comments."""

from __future__ import annotations

import numpy as np

from wildhands_core.detection import HandDetection
from wildhands_core.estimate import HandEstimate
from wildhands_core.tracking import HandTracker, TrackerConfig

MS = 1_000_000  # ns
FRAME_NS = 33 * MS
SIZE = (640, 480)


def box_at(cx: float, cy: float, side: float = 80.0) -> np.ndarray:
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def det(cx: float, cy: float, is_right: bool, score: float = 0.9, side: float = 80.0) -> HandDetection:
    return HandDetection(box_at(cx, cy, side), is_right, score, "test")


def hand_at(cx: float, cy: float, depth_m: float = 0.5, crop: np.ndarray | None = None) -> HandEstimate:
    """An estimate whose two keypoints span 60 x 60 px around (cx, cy), wrist at ``depth_m``; its crop is
    the whole image unless given."""
    kp = np.array([[cx - 30.0, cy - 30.0], [cx + 30.0, cy + 30.0]])
    joints = np.zeros((21, 3))
    joints[:, 2] = depth_m
    return HandEstimate(
        is_right=True, global_orient_aa=np.zeros(3), hand_pose_aa=np.zeros(45), betas=np.zeros(10),
        transl_m=np.zeros(3), joints_m=joints, keypoints_px=kp, box_xyxy_px=np.zeros(4),
        crop_xyxy_px=np.array([0.0, 0.0, SIZE[0] - 1, SIZE[1] - 1]) if crop is None else crop,
        confidence=0.9, grasp_prob=np.full(9, 1.0 / 9.0),
    )


def frame(tr: HandTracker, k: int, dets, estimates: dict) -> list[int]:
    """One frame: step, observe each box's estimate (``estimates[track side]`` or a callable of the box),
    end_frame; returns the published track ids."""
    stamp = k * FRAME_NS
    for b in tr.step(stamp, dets, SIZE):
        e = estimates[b.is_right]
        tr.observe(b.track_id, stamp, e(b) if callable(e) else e)
    return tr.end_frame(stamp)


def test_a_track_is_published_after_two_detections_and_two_estimates_that_look_like_a_hand():
    tr = HandTracker(TrackerConfig(min_hits=2, min_plausible_estimates=2))
    good = {True: hand_at(200, 200)}
    assert frame(tr, 0, [det(200, 200, True)], good) == []  # one detection: tentative
    assert len(frame(tr, 1, [det(200, 200, True)], good)) == 1  # two detections, two plausible estimates
    # the same detections, but the estimate lands 10 m away: confirmed by detections, never published
    tr2 = HandTracker(TrackerConfig(min_hits=2, min_plausible_estimates=2))
    far = {True: hand_at(200, 200, depth_m=10.0)}
    for k in range(5):
        assert frame(tr2, k, [det(200, 200, True)], far) == []


def test_what_looks_like_a_hand():
    tr = HandTracker(TrackerConfig(min_keypoints_in_crop=0.9, min_depth_m=0.08, max_depth_m=2.0))
    assert tr.plausible(hand_at(200, 200, 0.5))
    assert not tr.plausible(hand_at(200, 200, 0.05))  # nearer than 8 cm
    assert not tr.plausible(hand_at(200, 200, 2.5))  # farther than 2 m
    # one of the two keypoints (170, 170) / (230, 230) outside the crop: 1/2 < 0.9
    assert not tr.plausible(hand_at(200, 200, 0.5, crop=np.array([160.0, 160.0, 200.0, 200.0])))
    nan = hand_at(200, 200)
    nan.keypoints_px[0, 0] = np.nan
    assert not tr.plausible(nan)


def test_a_published_track_whose_estimates_stop_looking_like_a_hand_ends():
    tr = HandTracker(TrackerConfig(min_hits=1, min_plausible_estimates=1, max_implausible_estimates=3))
    (tid,) = frame(tr, 0, [det(200, 200, True)], {True: hand_at(200, 200)})
    off_crop = hand_at(200, 200, crop=np.array([0.0, 0.0, 10.0, 10.0]))  # keypoints outside the crop
    for k in (1, 2):  # two implausible estimates: alive, not published
        assert frame(tr, k, [det(200, 200, True)], {True: off_crop}) == []
        assert [t.track_id for t in tr.tracks] == [tid]
    assert frame(tr, 3, [det(200, 200, True)], {True: off_crop}) == []
    assert tr.tracks == []  # the third ends it


def test_two_tracks_on_one_hand_the_one_that_jumped_onto_it_ends():
    tr = HandTracker(TrackerConfig(min_hits=1, min_plausible_estimates=1, duplicate_iou=0.5))
    where = {True: hand_at(150, 300), False: hand_at(450, 300)}
    ids = frame(tr, 0, [det(150, 300, True), det(450, 300, False)], where)
    right, left = (t.track_id for t in sorted(tr.tracks, key=lambda t: not t.is_right))
    assert sorted(ids) == sorted([right, left])
    # next frame (no detection) the left track's estimate lands on the right hand, 10 px from the right
    # track's: keypoint boxes (120..180) and (130..190) overlap by IoU 50 x 60 / (2 x 3600 - 3000) = 0.71
    ids = frame(tr, 1, None, {True: hand_at(150, 300), False: hand_at(160, 300)})
    # the left track's keypoints jumped 290 px / 80 px box side, the right track's did not move: left ends
    assert ids == [right] and [t.track_id for t in tr.tracks] == [right]


def test_a_box_around_two_touching_hands_replaces_neither_and_both_hands_stay_followed():
    tr = HandTracker(TrackerConfig(min_hits=1, min_plausible_estimates=1, max_scale_change=1.5,
                                   max_held_s=1.5))
    est = {True: lambda b: hand_at(*(0.5 * (b.box_xyxy_px[:2] + b.box_xyxy_px[2:]))),
           False: lambda b: hand_at(*(0.5 * (b.box_xyxy_px[:2] + b.box_xyxy_px[2:])))}
    first = frame(tr, 0, [det(260, 300, True), det(340, 300, False)], est)
    assert len(first) == 2
    # the detector returns one 160 px box over both hands (2x the tracks' 80 px: beyond 1.5x), labelled left
    for k in range(1, 40):  # 39 frames = 1.29 s <= max_held_s
        ids = frame(tr, k, [det(300, 300, False, side=160.0)], est)
        assert len(ids) == 2, k
    boxes = {t.is_right: t.predicted_box(40 * FRAME_NS, 0.3, 0.5) for t in tr.tracks}
    np.testing.assert_allclose(boxes[True], box_at(260, 300))  # neither moved to the merged box
    np.testing.assert_allclose(boxes[False], box_at(340, 300))
    assert all(t.held for t in tr.tracks)
    # held longer than 1.5 s without a match, and more than max_missed detection frames: they end
    # (frame 46: 46 x 0.033 s = 1.52 s; the merged box may then start a track of its own)
    for k in range(40, 47):
        frame(tr, k, [det(300, 300, False, side=160.0)], est)
    assert not {t.track_id for t in tr.tracks} & set(first)


def test_a_redetection_moves_a_followed_box_by_redetect_gain_of_the_disagreement():
    tr = HandTracker(TrackerConfig(min_hits=1, min_plausible_estimates=1, redetect_gain=0.5))
    frame(tr, 0, [det(200, 200, True)], {True: hand_at(200, 200)})  # offset 0
    frame(tr, 1, None, {True: hand_at(200, 200)})  # still, velocity 0
    (b,) = tr.step(2 * FRAME_NS, [det(210, 200, True, side=90.0)], SIZE)
    # following puts the box at (200, 200), 80 px; the detection says (210, 200), 90 px: half way
    np.testing.assert_allclose(b.box_xyxy_px, box_at(205, 200, 85.0))
    assert b.from_detection
