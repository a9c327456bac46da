"""HandTracker: ids through gaps, crossing hands, handedness votes, capacity, rebirth, box prediction."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_core.detection import HandDetection, box_from_keypoints
from wildhands_core.estimate import HandEstimate
from wildhands_core.tracking import HandTracker, TrackerConfig

MS = 1_000_000  # ns
FRAME_NS = 33 * MS
SIZE = (640, 480)


def box_at(cx: float, cy: float, side: float = 80.0) -> np.ndarray:
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])


def det(cx: float, cy: float, is_right: bool, score: float = 0.9) -> HandDetection:
    return HandDetection(box_at(cx, cy), is_right, score, "test")


def estimate(
    keypoints_px: np.ndarray, confidence: float = 0.9, joints_m: np.ndarray | None = None,
    crop_xyxy_px: np.ndarray | None = None,
) -> HandEstimate:
    """An estimate with these keypoints (full-image px) and confidence; joints (21, 3) m (all 0.5 m in
    front of the camera by default: a plausible depth), identity rotations, zero shape and translation;
    its crop is the whole image by default, its box empty (no size check)."""
    crop = np.array([0.0, 0.0, SIZE[0] - 1, SIZE[1] - 1]) if crop_xyxy_px is None else crop_xyxy_px
    return HandEstimate(
        is_right=True, global_orient_aa=np.zeros(3), hand_pose_aa=np.zeros(45), betas=np.zeros(10),
        transl_m=np.zeros(3), joints_m=np.tile([0.0, 0.0, 0.5], (21, 1)) if joints_m is None else joints_m,
        keypoints_px=np.asarray(keypoints_px, np.float64), box_xyxy_px=np.zeros(4), crop_xyxy_px=crop,
        confidence=confidence, grasp_prob=np.full(9, 1.0 / 9.0),
    )


def detections_only(**kw) -> TrackerConfig:
    """The tracker's parameters with confirmation by detections alone (no estimates observed in these
    tests: ``min_plausible_estimates=0``)."""
    return TrackerConfig(**{"min_plausible_estimates": 0, **kw})


def ids_by_side(tracker: HandTracker) -> dict[bool, int]:
    return {t.is_right: t.track_id for t in tracker.tracks}


def test_track_is_confirmed_after_min_hits_and_a_single_detection_is_not():
    tr = HandTracker(detections_only(min_hits=2))
    tr.step(0, [det(100, 100, True)], SIZE)
    assert len(tr.tracks) == 1 and not tr.tracks[0].confirmed
    boxes = tr.step(FRAME_NS, [det(102, 100, True)], SIZE)
    assert tr.tracks[0].confirmed and boxes[0].confirmed
    tr2 = HandTracker(detections_only(min_hits=2))
    tr2.step(0, [det(100, 100, True)], SIZE)
    tr2.step(FRAME_NS, [], SIZE)  # spurious detection not seen again: tentative track dropped
    assert tr2.tracks == []


def test_track_survives_a_three_frame_detection_gap_and_keeps_its_id():
    # hand moving right at 300 px/s (9.9 px per frame); frames 10, 11, 12: the detector finds nothing.
    tr = HandTracker(detections_only(max_missed=5))
    for k in range(10):
        boxes = tr.step(k * FRAME_NS, [det(100 + 9.9 * k, 200, True)], SIZE)
    track_id = boxes[0].track_id
    for k in (10, 11, 12):
        assert tr.step(k * FRAME_NS, [], SIZE) == []  # coasting: nothing to estimate
        assert tr.needs_detection((k + 1) * FRAME_NS)
    t = tr.track(track_id)
    predicted = t.predicted_box(13 * FRAME_NS, 0.3, 0.5)
    np.testing.assert_allclose(predicted, box_at(100 + 9.9 * 13, 200), atol=0.5)  # velocity bridges the gap
    boxes = tr.step(13 * FRAME_NS, [det(100 + 9.9 * 13, 200, True)], SIZE)
    assert [b.track_id for b in boxes] == [track_id]
    assert tr.track(track_id).missed == 0


def test_track_dies_after_more_than_max_missed_frames_and_comes_back_with_a_new_id():
    tr = HandTracker(detections_only(max_missed=5))
    for k in range(3):
        tr.step(k * FRAME_NS, [det(100, 200, True)], SIZE)
    old_id = tr.tracks[0].track_id
    for k in range(3, 8):  # 5 misses: still alive
        tr.step(k * FRAME_NS, [], SIZE)
    assert [t.track_id for t in tr.tracks] == [old_id]
    tr.step(8 * FRAME_NS, [], SIZE)  # 6th miss
    assert tr.tracks == []
    tr.step(9 * FRAME_NS, [det(100, 200, True)], SIZE)
    assert tr.tracks[0].track_id == old_id + 1


def _crossing(handedness_weight: float, velocity_gain: float = 0.5) -> bool:
    """Right hand x = 100 + 13.3 k px, left hand x = 590 - 13.3 k px, same height, 31 frames: they pass
    each other between frames 18 (340 / 350) and 19 (353 / 337), boxes overlapping (IoU 0.92 between a
    hand's last box and the OTHER hand's next detection, 0.71 with its own). Detections come shuffled.
    True when every track keeps its id, side and hand."""
    tr = HandTracker(detections_only(handedness_weight=handedness_weight, velocity_gain=velocity_gain))
    rng = np.random.default_rng(0)
    ids = None
    for k in range(31):
        x = 100 + 400 * k / 30
        dets = [det(x, 240, True), det(590 - x + 100, 240, False)]
        rng.shuffle(dets)
        tr.step(k * FRAME_NS, dets, SIZE)
        if k == 2:
            ids = ids_by_side(tr)
        if k >= 2:
            if ids_by_side(tr) != ids:
                return False
            right = tr.track(ids[True])
            if abs(0.5 * (right.box_xyxy_px[0] + right.box_xyxy_px[2]) - x) > 1e-9:
                return False
    return True


def test_two_hands_crossing_keep_their_ids_and_handedness():
    assert _crossing(handedness_weight=0.3)


def test_two_hands_crossing_keep_their_ids_from_motion_alone_or_handedness_alone():
    assert _crossing(handedness_weight=0.0)  # velocity prediction alone
    assert _crossing(handedness_weight=0.3, velocity_gain=0.0)  # detector sides alone (cost 0.40 vs 0.37)
    assert not _crossing(handedness_weight=0.0, velocity_gain=0.0)  # neither: the ids swap


def test_a_single_misclassified_detection_does_not_flip_handedness():
    tr = HandTracker(detections_only())
    for k in range(5):
        tr.step(k * FRAME_NS, [det(200, 200, True)], SIZE)
    tid = tr.tracks[0].track_id
    tr.step(5 * FRAME_NS, [det(200, 200, False)], SIZE)  # detector says left once
    assert tr.track(tid).is_right
    boxes = tr.step(6 * FRAME_NS, [det(200, 200, True)], SIZE)
    assert [(b.track_id, b.is_right) for b in boxes] == [(tid, True)]


@pytest.mark.parametrize("lock_side", [False, True])
def test_consistent_opposite_votes_eventually_flip_handedness(lock_side):
    # vote capped at 5 * 0.9 = 4.5: it takes 6 left detections of score 0.9 to cross zero.
    tr = HandTracker(detections_only(handedness_vote_cap=5.0, lock_side=lock_side))
    for k in range(10):
        tr.step(k * FRAME_NS, [det(200, 200, True)], SIZE)
    (first,) = tr.tracks
    flips, ids = [], []
    for k in range(10, 18):
        tr.step(k * FRAME_NS, [det(200, 200, False)], SIZE)
        flips.append(tr.tracks[0].is_right)
        ids.append(tr.tracks[0].track_id)
    assert flips == [True] * 5 + [False] * 3
    if lock_side:  # a published track never changes side: it ends, a new track follows the hand as left
        assert ids[:5] == [first.track_id] * 5 and first.track_id not in ids[5:]
        assert tr.ended["side"] == 1 and tr.tracks[0].locked_side is False  # confirmed again, as left
    else:  # the same track flips
        assert ids == [first.track_id] * 8


def test_max_hands_and_one_per_side_are_respected():
    dets = [det(80, 100, True, 0.9), det(250, 100, True, 0.8), det(420, 100, False, 0.7),
            det(560, 300, True, 0.6)]
    tr = HandTracker(detections_only(max_hands=2, one_per_side=True))
    tr.step(0, dets, SIZE)
    tr.step(FRAME_NS, dets, SIZE)
    assert len(tr.tracks) == 2
    assert sorted(t.is_right for t in tr.tracks) == [False, True]
    tr3 = HandTracker(detections_only(max_hands=3, one_per_side=False))
    tr3.step(0, dets, SIZE)
    assert len(tr3.tracks) == 3


def test_two_detections_of_the_same_side_get_opposite_sides_with_one_per_side():
    tr = HandTracker(detections_only(one_per_side=True))
    for k in range(3):
        tr.step(k * FRAME_NS, [det(100, 200, True, 0.9), det(500, 200, True, 0.5)], SIZE)
    sides = {round(0.5 * (t.box_xyxy_px[0] + t.box_xyxy_px[2])): t.is_right for t in tr.tracks}
    assert sides == {100: True, 500: False}


def test_reborn_track_gets_a_fresh_smoother():
    kp = np.array([[90.0, 190.0], [110.0, 210.0]])
    est_a = estimate(kp, joints_m=np.full((21, 3), 0.5))
    est_b = estimate(kp, joints_m=np.full((21, 3), 0.6))
    tr = HandTracker(detections_only(max_missed=1, min_hits=1))
    for k in range(3):
        (b,) = tr.step(k * FRAME_NS, [det(100, 200, True)], SIZE)
        tr.observe(b.track_id, k * FRAME_NS, est_a)
    smoothed = tr.observe(b.track_id, 3 * FRAME_NS, est_b).joints_m
    assert np.all(smoothed < 0.6)  # the old track's smoother blends towards est_b
    tr.step(4 * FRAME_NS, [], SIZE)
    tr.step(5 * FRAME_NS, [], SIZE)  # dead after 2 misses
    (b2,) = tr.step(6 * FRAME_NS, [det(100, 200, True)], SIZE)
    assert b2.track_id != b.track_id
    out = tr.observe(b2.track_id, 6 * FRAME_NS, est_b).joints_m
    np.testing.assert_array_equal(out, est_b.joints_m)  # fresh smoother: passes through


@pytest.mark.parametrize("gain", [0.5, 1.0])
def test_frames_without_detection_follow_the_motion_of_the_estimates(gain):
    tr = HandTracker(detections_only(min_hits=1, follow_gain=gain, velocity_from_estimates=True))
    kp0 = np.array([[100.0, 200.0], [140.0, 260.0]])  # centre (120, 230): the detection's
    for k in range(2):  # keypoints move 6 px right per frame: 6 / 0.033 = 181.8 px/s
        (b,) = tr.step(k * FRAME_NS, [det(120, 230, True)], SIZE)
        tr.observe(b.track_id, k * FRAME_NS, estimate(kp0 + [6.0 * k, 0.0], 0.9))
    (b,) = tr.step(2 * FRAME_NS, None, SIZE)
    assert not b.from_detection
    v = tr.track(b.track_id).velocity_px_per_s
    np.testing.assert_allclose(v, [0.5 * 6.0 / 0.033, 0.0])  # first kp velocity, running-average gain 0.5
    # frame 1's estimate is that detection's own: no estimated motion since, the velocity moves the box
    np.testing.assert_allclose(b.box_xyxy_px, box_at(120, 230) + np.tile(v * 0.033, 2))
    tr.observe(b.track_id, 2 * FRAME_NS, estimate(kp0 + [18.0, 0.0], 0.9))  # 12 px right of frame 1's
    (b,) = tr.step(3 * FRAME_NS, None, SIZE)
    v = tr.track(b.track_id).velocity_px_per_s
    np.testing.assert_allclose(v, [0.5 * 90.909 + 0.5 * 12.0 / 0.033, 0.0], rtol=1e-4)
    np.testing.assert_allclose(b.box_xyxy_px, box_at(120, 230) + np.tile([gain * 12.0, 0.0] + v * 0.033, 2))


@pytest.mark.parametrize("gain", [0.5, 1.0])
def test_a_re_detection_moves_a_followed_box_detection_gain_of_the_way_to_the_detection(gain):
    # a still hand (keypoint centre (120, 230) on every frame: no velocity, no estimated motion): its follow
    # box stays box_at(120, 230); a detection 20 px to the right then moves it gain x 20 px, keeping the size
    tr = HandTracker(detections_only(min_hits=1, detection_gain=gain))
    kp = np.array([[100.0, 200.0], [140.0, 260.0]])
    for k, dets in enumerate([[det(120, 230, True)], [det(120, 230, True)], None]):
        (b,) = tr.step(k * FRAME_NS, dets, SIZE)
        tr.observe(b.track_id, k * FRAME_NS, estimate(kp, 0.9))
    np.testing.assert_allclose(b.box_xyxy_px, box_at(120, 230))
    (b,) = tr.step(3 * FRAME_NS, [det(140, 230, True)], SIZE)
    assert b.from_detection
    np.testing.assert_allclose(b.box_xyxy_px, box_at(120 + gain * 20.0, 230))
    # a new track takes its first detection's box as it is
    fresh = HandTracker(detections_only(min_hits=1, detection_gain=gain))
    (b,) = fresh.step(0, [det(140, 230, True)], SIZE)
    np.testing.assert_allclose(b.box_xyxy_px, box_at(140, 230))


def test_needs_detection_follows_the_schedule():
    cfg = detections_only(min_hits=1, max_hands=1, redetect_every_n=4, min_keypoints_in_crop=0.9)
    tr = HandTracker(cfg)
    assert tr.needs_detection(0)
    kp = np.array([[100.0, 200.0], [140.0, 260.0]])
    (b,) = tr.step(0, [det(120, 230, True)], SIZE)
    tr.observe(b.track_id, 0, estimate(kp, 0.9))
    schedule = []
    for k in range(1, 9):
        need = tr.needs_detection(k * FRAME_NS)
        schedule.append(need)
        (b,) = tr.step(k * FRAME_NS, [det(120, 230, True)] if need else None, SIZE)
        tr.observe(b.track_id, k * FRAME_NS, estimate(kp, 0.9))
    assert schedule == [False, False, False, True, False, False, False, True]
    tr.observe(b.track_id, 8 * FRAME_NS, estimate(kp, 0.2))  # a low score alone asks for nothing
    assert not tr.needs_detection(9 * FRAME_NS)
    # one of the two keypoints outside the crop (1/2 < 0.9): detect on the next frame
    crop = np.array([90.0, 190.0, 130.0, 230.0])
    tr.observe(b.track_id, 8 * FRAME_NS, estimate(kp, 0.9, crop_xyxy_px=crop))
    assert tr.needs_detection(9 * FRAME_NS)


def test_needs_detection_at_least_every_redetect_every_s_of_image_time():
    # frames processed at 10 Hz (a node busy with two of every three camera frames): every 0.4 s >= 0.34 s
    tr = HandTracker(detections_only(min_hits=1, max_hands=1, redetect_every_n=10, redetect_every_s=0.34))
    kp = np.array([[100.0, 200.0], [140.0, 260.0]])
    (b,) = tr.step(0, [det(120, 230, True)], SIZE)
    tr.observe(b.track_id, 0, estimate(kp, 0.9))
    schedule = []
    for k in range(1, 9):
        need = tr.needs_detection(k * 100 * MS)
        schedule.append(need)
        (b,) = tr.step(k * 100 * MS, [det(120, 230, True)] if need else None, SIZE)
        tr.observe(b.track_id, k * 100 * MS, estimate(kp, 0.9))
    assert schedule == [False, False, False, True, False, False, False, True]


def test_a_detector_of_low_scores_runs_on_fewer_than_every_frame_once_hands_are_confirmed():
    # The demo's learned detector scores about 0.34 (MediaPipe about 0.9); the estimator's confidence is
    # that score x the keypoints in the crop. With both hands confirmed (2 hits) and their estimates inside
    # their crops, only the re-detection every 10 frames is due: frames 0, 1, 11, 21 of 30.
    tr = HandTracker(detections_only(min_detection_score=0.25, redetect_every_n=10))
    kp = {True: np.array([[180.0, 200.0], [220.0, 260.0]]), False: np.array([[420.0, 200.0], [460.0, 260.0]])}
    ran = []
    for k in range(30):
        need = tr.needs_detection(k * FRAME_NS)
        if need:
            ran.append(k)
        dets = [det(200, 230, True, 0.34), det(440, 230, False, 0.34)] if need else None
        for b in tr.step(k * FRAME_NS, dets, SIZE):
            tr.observe(b.track_id, k * FRAME_NS, estimate(kp[b.is_right], 0.34))
    assert ran == [0, 1, 11, 21]


def test_needs_detection_when_fewer_tracks_than_max_hands_every_search_n_frames():
    tr = HandTracker(detections_only(min_hits=1, max_hands=2, redetect_every_n=100, search_every_n=3))
    kp = np.array([[100.0, 200.0], [140.0, 260.0]])
    (b,) = tr.step(0, [det(120, 230, True)], SIZE)
    tr.observe(b.track_id, 0, estimate(kp, 0.9))
    schedule = []
    for k in range(1, 7):
        need = tr.needs_detection(k * FRAME_NS)
        schedule.append(need)
        (b,) = tr.step(k * FRAME_NS, [det(120, 230, True)] if need else None, SIZE)
        tr.observe(b.track_id, k * FRAME_NS, estimate(kp, 0.9))
    assert schedule == [False, False, True, False, False, True]


def test_a_stamp_going_backwards_resets_the_tracker():
    tr = HandTracker(detections_only())
    tr.step(10 * FRAME_NS, [det(100, 200, True)], SIZE)
    old = tr.tracks[0].track_id
    tr.step(5 * FRAME_NS, [det(100, 200, True)], SIZE)
    assert [t.track_id for t in tr.tracks] == [old + 1]


def test_hand_leaving_the_image_is_not_estimated():
    tr = HandTracker(detections_only(min_hits=1, follow_gain=0.5, velocity_from_estimates=True))
    (b,) = tr.step(0, [det(600, 240, True)], SIZE)
    tr.observe(b.track_id, 0, estimate(np.array([[570.0, 230.0], [630.0, 250.0]]), 0.9))
    (b,) = tr.step(FRAME_NS, None, SIZE)
    out_of_view = np.array([[700.0, 230.0], [760.0, 250.0]])  # keypoints right of the 640 px image
    tr.observe(b.track_id, FRAME_NS, estimate(out_of_view, 0.9))
    # moved 130 px: 65 by the gain and 65 by the velocity; the box x0 = 560 + 130 is clipped to 639
    assert tr.step(2 * FRAME_NS, None, SIZE) == []


@pytest.mark.parametrize("lock_side", [False, True])
def test_a_track_that_kept_the_wrong_side_takes_its_detections_side_when_the_other_hand_returns(lock_side):
    tr = HandTracker(detections_only(one_per_side=True, handedness_vote_cap=5.0, lock_side=lock_side))
    for k in range(8):  # one hand at x=500, detected as left with full confidence: vote at the cap (-5)
        tr.step(k * FRAME_NS, [det(500, 200, False, 1.0)], SIZE)
    (old,) = tr.tracks
    assert not old.is_right and old.handedness.margin == 5.0
    # the detector now sees that hand as right (0.5) and the real left hand appears at x=100 (0.8)
    tr.step(8 * FRAME_NS, [det(500, 200, True, 0.5), det(100, 200, False, 0.8)], SIZE)
    sides = {round(0.5 * (t.box_xyxy_px[0] + t.box_xyxy_px[2])): t.is_right for t in tr.tracks}
    if not lock_side:
        assert sides == {500: True, 100: False}
        assert tr.track(old.track_id).is_right  # the old track flipped, keeping its id and vote size
        assert tr.track(old.track_id).handedness.margin == 4.5
        return
    # locked: the old track ends rather than change side; the next detection of that hand starts a right one
    assert sides == {100: False} and tr.ended["side"] == 1
    tr.step(9 * FRAME_NS, [det(500, 200, True, 0.5), det(100, 200, False, 0.8)], SIZE)
    sides = {round(0.5 * (t.box_xyxy_px[0] + t.box_xyxy_px[2])): (t.is_right, t.track_id) for t in tr.tracks}
    assert sides[500][0] is True and sides[500][1] > old.track_id and sides[100][0] is False


def test_a_detections_own_keypoints_make_the_box_that_following_starts_from():
    tr = HandTracker(detections_only(min_hits=1, follow_gain=0.5, velocity_from_estimates=True))
    landmarks = np.array([[300.0, 200.0], [360.0, 290.0]])  # a landmark detector's keypoints (MediaPipe)
    estimated = landmarks + [40.0, 0.0]  # the estimate's projection disagrees by 40 px
    d = HandDetection(box_from_keypoints(landmarks, 0.15), True, 0.9, "mediapipe", keypoints_px=landmarks)
    (b,) = tr.step(0, [d], SIZE)
    tr.observe(b.track_id, 0, estimate(estimated, 0.9))
    (b,) = tr.step(FRAME_NS, None, SIZE)
    # No velocity yet (one estimate): the follow box is exactly the landmarks' keypoint box.
    np.testing.assert_allclose(b.box_xyxy_px, box_from_keypoints(landmarks, 0.15, image_size=SIZE))
    # The estimate's constant 40 px offset moves nothing; only its motion does (10 px: 5 by the gain 0.5,
    # and the velocity 0.5 x 10 / 0.033 px/s for one frame).
    tr.observe(b.track_id, FRAME_NS, estimate(estimated, 0.9))
    (b,) = tr.step(2 * FRAME_NS, None, SIZE)
    np.testing.assert_allclose(b.box_xyxy_px, box_from_keypoints(landmarks, 0.15, image_size=SIZE))
    tr.observe(b.track_id, 2 * FRAME_NS, estimate(estimated + [10.0, 0.0], 0.9))
    (b,) = tr.step(3 * FRAME_NS, None, SIZE)
    np.testing.assert_allclose(
        b.box_xyxy_px, box_from_keypoints(landmarks, 0.15, image_size=SIZE) + [10.0, 0.0, 10.0, 0.0]
    )



def _hand_estimate(depth_m: float, keypoints_px: np.ndarray, box: np.ndarray) -> HandEstimate:
    joints = np.tile([0.0, 0.0, depth_m], (21, 1))
    est = estimate(keypoints_px, joints_m=joints, crop_xyxy_px=box_at(200, 200, 140))
    est.box_xyxy_px = box
    return est


def test_an_estimate_looks_like_a_hand_only_inside_its_crop_at_a_hand_depth_and_of_its_box_size():
    from wildhands_core.tracking.plausibility import implausibility

    box = box_at(200, 200, 80)  # crop: 140 px around the same centre
    spread = np.array([[170.0, 170.0], [230.0, 235.0]])  # spans 65 px of the 80 px box: ratio 0.81
    limits = dict(min_keypoints_in_crop=0.9, depth_range_m=(0.05, 3.0), size_ratio_range=(0.25, 2.5))
    assert implausibility(_hand_estimate(0.5, spread, box), **limits) is None
    outside = np.array([[170.0, 170.0], [300.0, 235.0]])  # one of two keypoints right of the crop (x 270)
    assert implausibility(_hand_estimate(0.5, outside, box), **limits) == "keypoints_outside_crop"
    assert implausibility(_hand_estimate(4.0, spread, box), **limits) == "depth"
    assert implausibility(_hand_estimate(-0.3, spread, box), **limits) == "depth"  # behind the camera
    tiny = np.array([[199.0, 199.0], [201.0, 212.0]])  # 13 px in an 80 px box: 0.16 < 0.25
    assert implausibility(_hand_estimate(0.5, tiny, box), **limits) == "size"
    # keypoints' mean at (200, 202.5): 2.5 px = 0.03 box sides from the box centre (200, 200); moved 40 px
    # right (inside the 140 px crop: x 210-270 < 270), 40 / 80 = 0.53 box sides off
    beside = spread + [40.0, 0.0]
    assert implausibility(_hand_estimate(0.5, spread, box), **limits, max_centre_offset=0.05) is None
    assert implausibility(_hand_estimate(0.5, beside, box), **limits, max_centre_offset=0.5) == "offset"
    assert implausibility(_hand_estimate(0.5, beside, box), **limits, max_centre_offset=0.55) is None
    assert implausibility(_hand_estimate(0.5, beside, box), **limits) is None  # not checked by default


def test_a_track_is_published_only_once_its_estimates_look_like_a_hand_and_ends_when_they_stop():
    tr = HandTracker(TrackerConfig(min_hits=2, min_plausible_estimates=2, max_implausible_estimates=3))
    good = _hand_estimate(0.5, np.array([[170.0, 170.0], [230.0, 235.0]]), box_at(200, 200, 80))
    far = _hand_estimate(9.0, np.array([[170.0, 170.0], [230.0, 235.0]]), box_at(200, 200, 80))
    published = []
    for k, est in enumerate([good, far, good, good, far, far, good, far, far, far]):
        (b,) = tr.step(k * FRAME_NS, [det(200, 200, True)], SIZE)
        tr.observe(b.track_id, k * FRAME_NS, est)
        published.append(tr.publishable(b.track_id))
    # frame 1: two detections but its estimate is 9 m away; frames 2-3: two plausible in a row -> published;
    # frames 4-5 withheld; 6 published again; 7-9: three implausible in a row end the track
    assert published == [False, False, False, True, False, False, True, False, False, False]
    assert tr.tracks == [] and tr.ended["implausible"] == 1


def test_without_require_plausible_estimates_neither_withhold_nor_end_a_track():
    tr = HandTracker(TrackerConfig(min_hits=2, require_plausible=False, max_implausible_estimates=3))
    far = _hand_estimate(9.0, np.array([[170.0, 170.0], [230.0, 235.0]]), box_at(200, 200, 80))
    published = []
    for k in range(6):  # six estimates 9 m away in a row: confirmed by the two detections alone
        (b,) = tr.step(k * FRAME_NS, [det(200, 200, True)], SIZE)
        tr.observe(b.track_id, k * FRAME_NS, far)
        published.append(tr.publishable(b.track_id))
    assert published == [False, True, True, True, True, True]
    assert len(tr.tracks) == 1 and tr.ended["implausible"] == 0
    assert tr.last_implausible_reason == "depth"  # still judged


def _hd(box: list[float], is_right: bool, score: float) -> HandDetection:
    return HandDetection(np.array(box, dtype=np.float64), is_right, score, "test")


def test_a_low_score_detection_keeps_the_track_it_overlaps_and_never_starts_one():
    def confirmed(low: float) -> HandTracker:  # confirmed on two detections at 0.9 on a still hand
        tr = HandTracker(detections_only(min_hits=2, max_missed=2, min_detection_score=0.3,
                                         low_detection_score=low, low_score_iou_gate=0.3))
        for k in range(2):
            tr.step(k * FRAME_NS, [det(100, 100, True)], SIZE)
        return tr

    # then the detector grows unsure (0.15: under min_detection_score) for longer than max_missed frames
    kept, lost = confirmed(0.1), confirmed(0.3)
    for tr in (kept, lost):
        for k in range(2, 6):
            tr.step(k * FRAME_NS, [det(100, 100, True, score=0.15)], SIZE)
    (t,) = kept.tracks
    assert t.missed == 0 and t.detection is not None and t.detection.score == 0.15
    assert lost.tracks == []  # without the low floor the track died after max_missed + 1 frames
    # far from any track (IoU 0 with it), a low-score detection starts nothing
    kept.step(6 * FRAME_NS, [det(100, 100, True, score=0.15), det(400, 300, False, score=0.2)], SIZE)
    assert [tr.track_id for tr in kept.tracks] == [t.track_id]
    # nor does it take a track it overlaps by IoU under low_score_iou_gate: 40 px beside an 80 px box,
    # IoU 40*80 / (2*6400 - 3200) = 1/3 >= 0.3 matches; 50 px beside, 30*80 / (2*6400 - 2400) = 0.23 not
    for dx, matched in ((40.0, True), (50.0, False)):
        tr = confirmed(0.1)
        tr.step(2 * FRAME_NS, [det(100 + dx, 100, True, score=0.15)], SIZE)
        assert (tr.tracks[0].detection is not None) == matched


def _two_confirmed(cfg: TrackerConfig) -> HandTracker:
    tr = HandTracker(cfg)
    for k in range(2):  # right hand at (100, 100), left at (170, 100): 80 px boxes, 10 px apart
        tr.step(k * FRAME_NS, [det(100, 100, True), det(170, 100, False)], SIZE)
    assert all(t.confirmed for t in tr.tracks) and len(tr.tracks) == 2
    return tr


def test_one_box_over_two_tracked_hands_is_matched_to_neither_and_both_follow_their_estimates():
    over_both = _hd([55.0, 55.0, 215.0, 145.0], False, 0.8)  # covers both 80 px boxes whole, IoU 0.44 each
    tr = _two_confirmed(detections_only(min_hits=2, merged_box_cover=0.5, merged_box_max_iou=0.5))
    ids = ids_by_side(tr)
    boxes = tr.step(2 * FRAME_NS, [over_both], SIZE)
    assert ids_by_side(tr) == ids  # no new track, no track ended
    assert sorted(b.track_id for b in boxes) == sorted(ids.values())  # both estimated this frame ...
    assert not any(b.from_detection for b in boxes)  # ... on their own predicted boxes
    np.testing.assert_allclose(tr.track(ids[True]).box_xyxy_px, box_at(100, 100))
    assert all(t.missed == 0 and t.held for t in tr.tracks)
    # the rule off: the left track (same side label) takes the box over both hands
    off = _two_confirmed(detections_only(min_hits=2, merged_box_cover=2.0))
    off.step(2 * FRAME_NS, [over_both], SIZE)
    np.testing.assert_allclose(off.track(ids_by_side(off)[False]).box_xyxy_px, over_both.box_xyxy_px)


def test_a_box_that_fits_one_of_two_touching_hands_is_not_taken_for_a_box_over_both():
    # the left hand 40 px from the right one: a detection exactly on the right hand covers half the left
    # hand's box, but its IoU with the right hand's box is 1: it is that hand's detection (births are not
    # suppressed at the two boxes' IoU of 1/3 here)
    tr = HandTracker(detections_only(min_hits=2, merged_box_cover=0.5, merged_box_max_iou=0.5,
                                     birth_iou_suppress=0.5))
    for k in range(2):
        tr.step(k * FRAME_NS, [det(100, 100, True), det(140, 100, False)], SIZE)
    ids = ids_by_side(tr)
    tr.step(2 * FRAME_NS, [det(100, 100, True)], SIZE)
    assert tr.track(ids[True]).detection is not None
    assert not tr.track(ids[False]).held and tr.track(ids[False]).missed == 1


def test_by_default_boxes_move_with_the_detections_velocity_and_never_with_the_estimates():
    # detections 6 px apart (frames 0 and 1); the estimates jump 30 px a frame and move nothing
    tr = HandTracker(detections_only(min_hits=1))
    assert tr.config.follow_gain == 0.0 and not tr.config.velocity_from_estimates
    kp = np.array([[80.0, 80.0], [120.0, 120.0]])
    for k in range(2):
        (b,) = tr.step(k * FRAME_NS, [det(100 + 6 * k, 100, True)], SIZE)
        tr.observe(b.track_id, k * FRAME_NS, estimate(kp + [30.0 * k, 0.0], 0.9))
    # frame 1: the followed, confirmed box goes detection_gain 0.5 of the way from its prediction (no
    # velocity yet: the box of frame 0) to the detection: centre x 103
    np.testing.assert_allclose(b.box_xyxy_px, box_at(103, 100))
    # velocity 0.5 (velocity_gain) x 6 px / 33 ms = 90.9 px/s from the two detections: 3 px a frame
    (b,) = tr.step(2 * FRAME_NS, None, SIZE)
    np.testing.assert_allclose(b.box_xyxy_px, box_at(106, 100))


def test_a_low_score_detection_that_turns_a_locked_tracks_side_ends_it_and_starts_nothing():
    # born and confirmed on two right detections of 0.3 (vote +0.6, side locked right); then left-labelled
    # detections of 0.25 (under min_detection_score 0.3): +0.6 - 3 x 0.25 = -0.15 < 0 on the third
    tr = HandTracker(detections_only(min_hits=2, min_detection_score=0.3, low_detection_score=0.1))
    for k in range(2):
        tr.step(k * FRAME_NS, [det(100, 100, True, score=0.3)], SIZE)
    assert tr.tracks[0].locked_side is True
    for k in range(2, 4):
        tr.step(k * FRAME_NS, [det(100, 100, False, score=0.25)], SIZE)
        assert len(tr.tracks) == 1  # vote +0.35, +0.1: still right
    tr.step(4 * FRAME_NS, [det(100, 100, False, score=0.25)], SIZE)
    assert tr.tracks == [] and tr.ended["side"] == 1  # ended, and the weak detection started no track
