"""HandTracker: the estimator's own side (a side classifier's P(right)) in the handedness vote.

Facts checked (from the vote's definition in ``tracking.handedness`` and ``TrackerConfig``): a detection adds
+-score, an estimate +-min(1, weight x |2 P(right) - 1|); a track takes the side of the vote's sign while
tentative, and a published track never changes side (it ends, reason "side")."""

from __future__ import annotations

import dataclasses

import numpy as np
from test_tracking_tracker import FRAME_NS, SIZE, det, estimate

from wildhands_core.tracking import HandTracker, TrackerConfig


def kp_at(cx: float, cy: float) -> np.ndarray:
    """21 keypoints spread 30 px around (cx, cy): inside an 80 px box centred there."""
    ang = np.linspace(0, 2 * np.pi, 21, endpoint=False)
    return np.stack([cx + 30 * np.cos(ang), cy + 30 * np.sin(ang)], axis=1)


def sided(right_prob: float | None, cx: float = 200.0, cy: float = 200.0):
    return dataclasses.replace(estimate(kp_at(cx, cy)), right_prob=right_prob)


def run(tr: HandTracker, frames: int, det_right: bool, right_prob: float | None, score: float = 0.4):
    """``frames`` frames of one hand at (200, 200): the detector labels it ``det_right`` with ``score``,
    the estimator's side classifier says ``right_prob``. Returns the side of each publishable estimate."""
    published = []
    for k in range(frames):
        stamp = k * FRAME_NS
        dets = [det(200, 200, det_right, score)] if tr.needs_detection(stamp) else None
        for tb in tr.step(stamp, dets, SIZE):
            tr.observe(tb.track_id, stamp, sided(right_prob))
            if tr.publishable(tb.track_id):
                published.append(tb.is_right)
    return published


def test_a_track_born_with_the_detectors_wrong_label_is_published_with_the_side_its_crops_show():
    # detector: "left" at 0.4 per detection; the side classifier: right with P 0.95 (|2p - 1| = 0.9)
    tr = HandTracker(TrackerConfig(min_hits=2))
    published = run(tr, 12, det_right=False, right_prob=0.95)
    assert published and all(published)  # every published estimate is of the right hand
    assert tr.ended["side"] == 0


def test_without_a_side_classifier_the_detectors_label_decides_as_before():
    tr = HandTracker(TrackerConfig(min_hits=2))
    published = run(tr, 12, det_right=False, right_prob=None)
    assert published and not any(published)


def test_weight_zero_ignores_the_estimates_side():
    tr = HandTracker(TrackerConfig(min_hits=2, estimate_side_weight=0.0))
    published = run(tr, 12, det_right=False, right_prob=0.95)
    assert published and not any(published)


def test_an_undecided_classifier_adds_nothing_to_the_vote():
    # P(right) = 0.5 -> |2p - 1| = 0: the vote is the detections' alone (0.4 per detection, all left)
    tr = HandTracker(TrackerConfig(min_hits=2))
    tr.step(0, [det(200, 200, False, 0.4)], SIZE)
    t = tr.tracks[0]
    tr.observe(t.track_id, 0, sided(0.5))
    assert abs(t.handedness.vote - (-0.4)) < 1e-12


def test_one_estimate_moves_the_vote_by_weight_times_its_certainty_at_most_one():
    tr = HandTracker(TrackerConfig(min_hits=5, estimate_side_weight=0.5))
    tr.step(0, [det(200, 200, False, 0.4)], SIZE)
    t = tr.tracks[0]
    tr.observe(t.track_id, 0, sided(0.9))  # +0.5 x 0.8 = +0.4: the vote goes from -0.4 to 0
    assert abs(t.handedness.vote) < 1e-12
    tr2 = HandTracker(TrackerConfig(min_hits=5, estimate_side_weight=10.0))
    tr2.step(0, [det(200, 200, False, 0.4)], SIZE)
    t2 = tr2.tracks[0]
    tr2.observe(t2.track_id, 0, sided(0.9))  # 10 x 0.8 = 8, clipped to 1: -0.4 + 1
    assert abs(t2.handedness.vote - 0.6) < 1e-12


def test_a_published_track_whose_crops_turn_to_the_other_side_ends_and_never_changes_side():
    tr = HandTracker(TrackerConfig(min_hits=2, handedness_vote_cap=2.0))
    first = run(tr, 6, det_right=True, right_prob=0.95)
    assert first and all(first)
    (t,) = tr.tracks
    tid = t.track_id
    for k in range(6, 12):  # the classifier now says left, strongly: the locked track must not flip
        stamp = k * FRAME_NS
        dets = [det(200, 200, True, 0.4)] if tr.needs_detection(stamp) else None
        for tb in tr.step(stamp, dets, SIZE):
            tr.observe(tb.track_id, stamp, sided(0.02))
            if tb.track_id == tid and tr.publishable(tid):
                assert tb.is_right  # while it lives, the track is right
    assert tr.ended["side"] >= 1
    assert tid not in [x.track_id for x in tr.tracks]


def test_one_flipped_detection_does_not_end_a_track_whose_crops_keep_voting_its_side():
    # a confirmed right track (detections and crops say right); on one frame its detection says LEFT while a
    # new hand elsewhere is detected RIGHT. By the detections alone each track would take its detection's
    # side (the locked track would end); with the crops' votes the weaker, new track yields instead.
    tr = HandTracker(TrackerConfig(min_hits=2))
    for k in range(4):
        stamp = k * FRAME_NS
        for tb in tr.step(stamp, [det(200, 200, True, 0.9)], SIZE):
            tr.observe(tb.track_id, stamp, sided(0.98))
    (old,) = tr.tracks
    assert old.confirmed and old.is_right
    tr.step(4 * FRAME_NS, [det(200, 200, False, 0.3), det(450, 200, True, 0.4)], SIZE)
    assert tr.ended["side"] == 0
    (new,) = [t for t in tr.tracks if t.track_id != old.track_id]
    assert tr.track(old.track_id).is_right and not new.is_right


def test_by_the_detections_alone_the_same_frame_ends_the_locked_track():
    # the same frames without a side classifier: the detections decide (the rule for hands that crossed)
    tr = HandTracker(TrackerConfig(min_hits=2))
    for k in range(4):
        stamp = k * FRAME_NS
        for tb in tr.step(stamp, [det(200, 200, True, 0.9)], SIZE):
            tr.observe(tb.track_id, stamp, sided(None))
    tr.step(4 * FRAME_NS, [det(200, 200, False, 0.3), det(450, 200, True, 0.4)], SIZE)
    assert tr.ended["side"] == 1


def _two_confirmed_hands(**kw) -> HandTracker:
    tr = HandTracker(TrackerConfig(min_hits=2, min_plausible_estimates=0, **kw))
    for k in range(3):
        tr.step(k * FRAME_NS, [det(150, 200, True, 0.9), det(450, 200, False, 0.9)], SIZE)
    assert sorted((t.is_right, t.confirmed) for t in tr.tracks) == [(False, True), (True, True)]
    return tr


def test_a_hand_found_away_from_its_lost_track_starts_a_new_track_at_once():
    # the right hand's track box lost it (the detection 250 px away is beyond every gate); the tracker
    # holds one track per side, so the detection of the right side is that hand: the old track gives way
    tr = _two_confirmed_hands()
    old_right = ids_right(tr)
    tr.step(3 * FRAME_NS, [det(150, 440, True, 0.9), det(450, 200, False, 0.9)], SIZE)
    assert tr.ended["replaced"] == 1 and old_right not in [t.track_id for t in tr.tracks]
    new = [t for t in tr.tracks if t.is_right]
    assert len(new) == 1 and np.allclose(new[0].box_xyxy_px, det(150, 440, True).box_xyxy_px)


def test_without_replacement_the_detection_waits_for_the_lost_track_to_die():
    tr = _two_confirmed_hands(replace_lost_side=False)
    old_right = ids_right(tr)
    tr.step(3 * FRAME_NS, [det(150, 440, True, 0.9), det(450, 200, False, 0.9)], SIZE)
    assert tr.ended["replaced"] == 0 and ids_right(tr) == old_right


def test_a_detection_of_the_other_side_replaces_nothing():
    # the left track is matched; an extra LEFT detection far away must not end the (unmatched) right track
    tr = _two_confirmed_hands()
    old_right = ids_right(tr)
    tr.step(3 * FRAME_NS, [det(450, 200, False, 0.9), det(150, 440, False, 0.8)], SIZE)
    assert tr.ended["replaced"] == 0 and ids_right(tr) == old_right


def ids_right(tr: HandTracker) -> int:
    (t,) = [t for t in tr.tracks if t.is_right]
    return t.track_id
