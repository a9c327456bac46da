"""Hand tracker: stable ids, handedness by vote, box prediction, re-detection schedule, smoothing.

Per image (stamp ``stamp_ns``, int ns of the image header; size ``(W, H)`` px), the node and the bag tools
do::

    dets = detector.detect(image_rgb, stamp_ns) if tracker.needs_detection(stamp_ns) else None
    for tb in tracker.step(stamp_ns, dets, image_size=(W, H)):          # list[TrackedBox]
        est = estimator.estimate(image_rgb, K_px, [HandBox(tb.box_xyxy_px, tb.is_right)])[0]
        smoothed[tb.track_id] = tracker.observe(tb.track_id, stamp_ns, est, K_px)  # smoothed estimate
    for track_id in tracker.end_frame(stamp_ns):                       # the tracks to publish
        publish(track_id, tracker.track(track_id).is_right, smoothed[track_id])

- ``step`` = ``update`` (assign detections to tracks, births, deaths) + ``boxes_for_estimation``.
  Boxes follow the estimates' own 2D keypoints (``Track.predicted_box``): between detections a box is
  centred at the last estimate's keypoint centre plus the offset measured on the last detection frame
  (so a constant offset of the estimator moves no box) plus the velocity times the time since, with the
  detection frame's size (scaled by the keypoint extent's growth). A re-detection of a followed hand
  moves its box ``redetect_gain`` of the way to the detection (tentative tracks take the detection box).
  A detection matches a confirmed track only within ``max_scale_change`` of its size (one box around two
  touching hands replaces neither). A confirmed track the detector did not find is "held" and still
  estimated with its follow box while its estimates look like a hand (for up to ``max_held_s``); otherwise
  it is "coasting": not estimated, its box predicted with its velocity (so it is matched again without a
  jump when the hand reappears), dead after more than ``max_missed`` detection frames without a match.
  ``[]`` as detections means "the detector ran and found nothing".
- ``observe`` stores the estimate's keypoint centre and extent (full-image px) and whether it looks like
  a hand (``plausible``: keypoints inside its crop, wrist depth in range), and returns the
  :class:`~wildhands_core.estimate.HandEstimate` smoothed by the track's ``HandSmoother`` (see
  ``smoothing.hand_smoother``).
- ``end_frame`` (after the frame's estimates were observed) decides what is published: tracks must earn
  their place. A track is confirmed by ``min_hits`` detections of a side no other confirmed track has,
  and published once ``min_plausible_estimates`` successive estimates looked like a hand; it ends when
  ``max_implausible_estimates`` successive estimates did not, or when two tracks' estimates sit on the
  same hand (``duplicate_iou``: the one that jumped onto it, or the unconfirmed one, ends). A confirmed
  track's side never changes: when its detections' vote says the other side by ``side_conflict_votes``
  it ends and a new track takes the hand.
- The schedule (``needs_detection``) judges a followed hand by the estimate's own plausibility, never by the
  detector's score: scores are calibrated differently by every detector (MediaPipe about 0.9, the demo's
  learned one about 0.35, external ones unknown), and they gate births and matches already
  (``min_detection_score``).
- Ids are ints, increasing, never reused. A stamp earlier than the previous one (e.g. a bag restarted)
  resets the tracker.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from wildhands_core.detection.base import HandDetection, box_iou_xyxy
from wildhands_core.estimate import HandEstimate
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.smoothing.hand_smoother import HandSmoother
from wildhands_core.stamps import NS_PER_S, seconds_to_ns
from wildhands_core.tracking.assignment import FORBIDDEN_COST, assign, association_cost
from wildhands_core.tracking.config import TrackerConfig
from wildhands_core.tracking.handedness import HandednessVote
from wildhands_core.tracking.track import (
    Track,
    TrackedBox,
    box_centre,
    box_of,
    box_size,
    keypoint_extent,
)


class HandTracker:
    """Tracks up to ``config.max_hands`` hands; see the module docstring for the per-frame flow."""

    def __init__(self, config: TrackerConfig | None = None, smoothing: SmoothingConfig | None = None) -> None:
        self.config = copy.deepcopy(config) if config is not None else TrackerConfig()
        self.smoothing = copy.deepcopy(smoothing) if smoothing is not None else SmoothingConfig()
        self._next_id = 0
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Drop all tracks (ids keep increasing)."""
        self._tracks: dict[int, Track] = {}
        self._last_stamp_ns: int | None = None
        self._frames_since_detection: int | None = None  # None: the detector never ran
        self._detection_stamp_ns: int | None = None  # stamp of the last frame the detector ran on
        self._detected_this_frame = False

    @property
    def tracks(self) -> list[Track]:
        """Live tracks (tentative and confirmed), by id."""
        return [self._tracks[k] for k in sorted(self._tracks)]

    def track(self, track_id: int) -> Track:
        return self._tracks[track_id]

    def update_smoothing(self, smoothing: SmoothingConfig) -> None:
        """Change the smoothing parameters of all current and future tracks (filter state kept)."""
        self.smoothing = copy.deepcopy(smoothing)
        for t in self._tracks.values():
            t.smoother.update_config(self.smoothing)

    @property
    def _capacity(self) -> int:
        return min(self.config.max_hands, 2) if self.config.one_per_side else self.config.max_hands

    # -------------------------------------------------------------- schedule
    def needs_detection(self, stamp_ns: int) -> bool:
        """Should the detector run on the image stamped ``stamp_ns`` (int ns)?

        Yes when: it never ran; ``redetect_every_n`` frames or ``redetect_every_s`` have passed; fewer
        confirmed tracks than ``max_hands`` (or a held one) and ``search_every_n`` frames have passed; a
        track is tentative or coasting, has no keypoints yet, keypoints older than ``max_follow_gap_s``, or
        fewer of its last estimate's keypoints inside its crop than ``min_keypoints_in_crop``; or time went
        backwards.
        """
        c = self.config
        if self._frames_since_detection is None:
            return True
        if self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns:
            return True
        n = self._frames_since_detection + 1  # frames since the last detection, counting this one
        if n >= c.redetect_every_n:
            return True
        if self._detection_stamp_ns is not None and (
            stamp_ns - self._detection_stamp_ns >= seconds_to_ns(c.redetect_every_s)
        ):
            return True
        searching = sum(t.confirmed and not t.held for t in self._tracks.values()) < c.max_hands
        if searching and n >= c.search_every_n:
            return True
        for t in self._tracks.values():
            if not t.confirmed or (t.missed > 0 and not t.held) or t.keypoints_stamp_ns is None:
                return True
            if (stamp_ns - t.keypoints_stamp_ns) / NS_PER_S > c.max_follow_gap_s:
                return True
            if t.keypoints_in_crop is not None and t.keypoints_in_crop < c.min_keypoints_in_crop:
                return True
        return False

    # ---------------------------------------------------------------- update
    def update(
        self, stamp_ns: int, detections: Sequence[HandDetection] | None,
        image_size: tuple[int, int] | None = None,
    ) -> list[Track]:
        """Assign this frame's detections (None: detector not run) to tracks; births and deaths."""
        c = self.config
        stamp_ns = int(stamp_ns)
        if self._last_stamp_ns is not None and stamp_ns < self._last_stamp_ns:
            self.reset()
        self._last_stamp_ns = stamp_ns
        for t in self._tracks.values():
            t.detection = None
        self._detected_this_frame = detections is not None
        if detections is None:
            if self._frames_since_detection is not None:
                self._frames_since_detection += 1
            return self.tracks
        self._frames_since_detection = 0
        self._detection_stamp_ns = stamp_ns
        dets = [d for d in detections if d.score >= c.min_detection_score]
        tracks = self.tracks
        predicted = np.array([self._predict(t, stamp_ns, image_size) for t in tracks]).reshape(-1, 4)
        cost = association_cost(
            predicted, [t.is_right for t in tracks], dets,
            c.iou_gate, c.centre_gate, c.centre_weight, c.handedness_weight,
        )
        for ti, t in enumerate(tracks):  # a confirmed track's box keeps its scale
            if t.confirmed and len(dets):
                side = max(float(np.max(predicted[ti, 2:] - predicted[ti, :2])), 1.0)
                det_side = np.array([max(float(np.max(d.box_xyxy_px[2:] - d.box_xyxy_px[:2])), 1.0)
                                     for d in dets])
                ratio = np.maximum(det_side / side, side / det_side)
                cost[ti, ratio > c.max_scale_change] = FORBIDDEN_COST
        matches, lost, new = assign(cost)
        for ti, di in matches:
            self._on_match(tracks[ti], dets[di], stamp_ns, predicted[ti])
        for ti in lost:
            t = tracks[ti]
            t.missed += 1
            held_s = (stamp_ns - t.matched_stamp_ns) / NS_PER_S
            t.held = (
                t.confirmed and t.plausible_streak > 0 and held_s <= c.max_held_s
                and t.following(stamp_ns, c.max_follow_gap_s)
            )
            if not t.confirmed or (t.missed > c.max_missed and not t.held):
                del self._tracks[t.track_id]
        for di in sorted(new, key=lambda i: -dets[i].score):
            self._maybe_birth(dets[di], stamp_ns, image_size)
        self._confirm()
        return self.tracks

    def boxes_for_estimation(
        self, stamp_ns: int, image_size: tuple[int, int] | None = None
    ) -> list[TrackedBox]:
        """Crops to estimate at ``stamp_ns`` after ``update``: the boxes of tracks matched this frame
        (blended towards the detection when followed), or, on frames without detection and for held
        tracks, boxes that follow each track's estimates. Coasting tracks and boxes smaller than
        ``min_box_size_px`` (e.g. the hand left the image) are left out."""
        out: list[TrackedBox] = []
        for t in self.tracks:
            if t.detection is not None:
                box, from_det = t.box_xyxy_px.copy(), True
                if image_size is not None:
                    w, h = image_size
                    box = np.clip(box, 0.0, np.array([w - 1, h - 1, w - 1, h - 1], dtype=np.float64))
            elif not self._detected_this_frame or t.held:
                box, from_det = self._predict(t, int(stamp_ns), image_size), False
            else:
                continue  # detector ran and missed this track: coasting
            if np.min(box[2:] - box[:2]) < self.config.min_box_size_px:
                continue
            out.append(TrackedBox(t.track_id, box, t.is_right, t.confirmed, from_det))
        return out

    def step(
        self, stamp_ns: int, detections: Sequence[HandDetection] | None,
        image_size: tuple[int, int] | None = None,
    ) -> list[TrackedBox]:
        """``update`` then ``boxes_for_estimation``: the crops to estimate on this image."""
        self.update(stamp_ns, detections, image_size)
        return self.boxes_for_estimation(stamp_ns, image_size)

    def plausible(self, estimate: HandEstimate) -> bool:
        """Does ``estimate`` look like a hand: finite keypoints, at least ``min_keypoints_in_crop`` of them
        inside its crop, wrist depth (camera z, m) in [``min_depth_m``, ``max_depth_m``]."""
        c = self.config
        kp = np.asarray(estimate.keypoints_px, dtype=np.float64)
        z = float(np.asarray(estimate.joints_m, dtype=np.float64).reshape(-1, 3)[0, 2])
        return bool(
            np.all(np.isfinite(kp)) and estimate.keypoints_in_crop >= c.min_keypoints_in_crop
            and c.min_depth_m <= z <= c.max_depth_m
        )

    def observe(
        self, track_id: int, stamp_ns: int, estimate: HandEstimate, K_px: np.ndarray | None = None
    ) -> HandEstimate:
        """Record the estimate of ``track_id`` at ``stamp_ns``: its keypoints' centre and extent
        (full-image px) place the next box, the fraction of its keypoints inside its crop schedules
        detection, its plausibility counts towards publishing or ending the track (``end_frame``); returns
        ``estimate`` smoothed by the track's smoother (keypoints re-projected with the image's ``K_px`` when
        given)."""
        t = self._tracks[track_id]
        stamp_ns = int(stamp_ns)
        kp = np.asarray(estimate.keypoints_px, dtype=np.float64).reshape(-1, 2)
        finite = np.all(np.isfinite(kp), axis=1)
        if finite.any():
            centre = kp[finite].mean(axis=0)
            t.measure_centre("kp", centre, stamp_ns, self.config.velocity_gain)
            side = max(float(np.max(t.size_wh_px)), 1.0)
            t.keypoint_jump = (
                float(np.linalg.norm(centre - t.keypoints_centre_px)) / side
                if t.keypoints_centre_px is not None else 0.0
            )
            t.keypoints_extent_px = keypoint_extent(kp)
            t.keypoints_box_px = np.concatenate([kp[finite].min(axis=0), kp[finite].max(axis=0)])
            if t.detection is not None and stamp_ns == t.box_stamp_ns:
                # the estimate on the detection frame's box anchors the offset and the extent
                t.offset_px = box_centre(t.box_xyxy_px) - centre
                t.anchor_extent_px = t.keypoints_extent_px
            t.keypoints_centre_px = centre
            t.keypoints_stamp_ns = stamp_ns
        t.keypoints_in_crop = estimate.keypoints_in_crop
        if self.plausible(estimate):
            t.plausible_streak, t.implausible_streak = t.plausible_streak + 1, 0
        else:
            t.plausible_streak, t.implausible_streak = 0, t.implausible_streak + 1
        return t.smoother.smooth(stamp_ns, estimate, K_px)

    def end_frame(self, stamp_ns: int) -> list[int]:
        """After the estimates of ``stamp_ns`` were observed: end the tracks whose estimates stopped looking
        like a hand and the second claimant of a hand (module docstring); returns the ids, sorted, of the
        tracks to publish: confirmed, estimated on this frame, with ``min_plausible_estimates`` successive
        plausible estimates."""
        c = self.config
        stamp_ns = int(stamp_ns)
        seen = [t for t in self.tracks if t.keypoints_stamp_ns == stamp_ns]
        for t in seen:
            if t.confirmed and t.implausible_streak >= c.max_implausible_estimates:
                del self._tracks[t.track_id]
        seen = [t for t in seen if t.track_id in self._tracks]
        for a_i in range(len(seen)):
            for b_i in range(a_i + 1, len(seen)):
                a, b = seen[a_i], seen[b_i]
                if a.track_id not in self._tracks or b.track_id not in self._tracks:
                    continue
                if self._same_hand(a, b):
                    loser = max((a, b), key=lambda t: (not t.confirmed, t.keypoint_jump, t.track_id))
                    del self._tracks[loser.track_id]
        return [
            t.track_id for t in seen
            if t.track_id in self._tracks and t.confirmed and t.plausible_streak >= c.min_plausible_estimates
        ]

    # -------------------------------------------------------------- internals
    def _same_hand(self, a: Track, b: Track) -> bool:
        """Do the last estimates of ``a`` and ``b`` sit on one hand (their keypoint boxes' IoU)."""
        boxes = []
        for t in (a, b):
            if t.keypoints_box_px is None or t.keypoints_extent_px <= 0:
                return False
            boxes.append(t.keypoints_box_px)
        return float(box_iou_xyxy(boxes[0][None], boxes[1][None])[0, 0]) > self.config.duplicate_iou

    def _predict(self, t: Track, stamp_ns: int, image_size: tuple[int, int] | None) -> np.ndarray:
        c = self.config
        return t.predicted_box(stamp_ns, c.max_prediction_s, c.max_follow_gap_s, image_size)

    def _on_match(self, t: Track, d: HandDetection, stamp_ns: int, predicted: np.ndarray) -> None:
        c = self.config
        det_box = np.asarray(d.box_xyxy_px, dtype=np.float64)
        t.measure_centre("det", box_centre(det_box), stamp_ns, c.velocity_gain)
        if t.confirmed and t.following(stamp_ns, c.max_follow_gap_s):
            # a followed hand: the box moves part of the way from where following put it to the detection
            g = c.redetect_gain
            centre = box_centre(predicted) + g * (box_centre(det_box) - box_centre(predicted))
            size = box_size(predicted) + g * (box_size(det_box) - box_size(predicted))
            t.box_xyxy_px = box_of(centre, size)
        else:
            t.box_xyxy_px = det_box.copy()
        t.box_stamp_ns = stamp_ns
        t.matched_stamp_ns = stamp_ns
        t.offset_px = None  # until this frame's estimate
        t.detection = d
        t.score = d.score
        t.hits += 1
        t.missed = 0
        t.held = False
        t.handedness.add(d.is_right, d.score)
        if t.side is not None and t.handedness.vote * (1.0 if t.side else -1.0) <= -c.side_conflict_votes:
            del self._tracks[t.track_id]  # its detections say the other side: the track ends, never flips

    def _maybe_birth(self, d: HandDetection, stamp_ns: int, image_size: tuple[int, int] | None) -> None:
        c = self.config
        if len(self._tracks) >= self._capacity:
            return
        if c.one_per_side and any(t.is_right == d.is_right for t in self._tracks.values()):
            return  # its side is claimed: no second track of it (a track of the other hand takes over
            # only when the claimant ends)
        if self._tracks:
            boxes = np.array([self._predict(t, stamp_ns, image_size) for t in self._tracks.values()])
            if np.max(box_iou_xyxy(boxes, d.box_xyxy_px)) > c.birth_iou_suppress:
                return
        t = Track(
            track_id=self._next_id,
            box_xyxy_px=np.asarray(d.box_xyxy_px, dtype=np.float64).copy(),
            box_stamp_ns=stamp_ns,
            handedness=HandednessVote(d.is_right, d.score, c.handedness_vote_cap),
            smoother=HandSmoother(self.smoothing),
            score=d.score,
            detection=d,
            matched_stamp_ns=stamp_ns,
        )
        t.measure_centre("det", box_centre(t.box_xyxy_px), stamp_ns, c.velocity_gain)
        self._tracks[t.track_id] = t
        self._next_id += 1

    def _confirm(self) -> None:
        """Confirm tentative tracks with ``min_hits`` detections, strongest first; with ``one_per_side``
        only onto a side no confirmed track has (a track whose side is taken stays tentative: unpublished,
        it waits for that track to end). Confirmation fixes the side."""
        c = self.config
        taken = {t.side for t in self._tracks.values() if t.confirmed}
        waiting = [t for t in self._tracks.values() if not t.confirmed and t.hits >= c.min_hits]
        for t in sorted(waiting, key=lambda t: (-t.handedness.margin, t.track_id)):
            side = t.handedness.is_right
            if c.one_per_side and side in taken:
                continue
            t.confirmed, t.side = True, side
            taken.add(side)
