"""Hand tracker: stable ids, handedness by vote, box prediction, re-detection schedule, smoothing.

Per image (stamp ``stamp_ns``, int ns of the image header; size ``(W, H)`` px), the node and the bag tools
do::

    dets = detector.detect(image_rgb, stamp_ns) if tracker.needs_detection(stamp_ns) else None
    for tb in tracker.step(stamp_ns, dets, image_size=(W, H)):          # list[TrackedBox]
        est = estimator.estimate(image_rgb, K_px, [HandBox(tb.box_xyxy_px, tb.is_right)])[0]
        smoothed = tracker.observe(tb.track_id, stamp_ns, est, K_px)     # HandEstimate -> HandEstimate
        if tracker.publishable(tb.track_id):
            publish(tb.track_id, tb.is_right, smoothed)

- ``step`` = ``update`` (assign detections to tracks, births, deaths) + ``boxes_for_estimation``.
  With detections, matched tracks get their detection box; without (``None``: the detector did not run),
  each track's last detection box is shifted by its velocity times the time since (by default the
  velocity of its matched detections), plus ``follow_gain`` x how far the estimated keypoints' centre moved
  since that detection (``Track.predicted_box``; the estimates' motion, never their absolute place or size;
  0 by default: the demo estimator's keypoints are a noisier measure of where the hand is than the
  detector's boxes, and they follow the crop they are given). A confirmed track not matched on a
  detection frame is "coasting": it is not estimated, its box is predicted with its velocity (so it is
  matched again without a jump when the hand reappears), and it dies after more than ``max_missed``
  detection frames without a match. ``[]`` as detections means "the detector ran and found nothing".
- Association (``update``): detections from ``min_detection_score`` up may match any track and start new
  ones; detections down to ``low_detection_score`` may only keep a track whose predicted box they overlap by
  IoU >= ``low_score_iou_gate`` (as in ByteTrack: a hand the detector grows unsure of, e.g. touching the
  other, keeps its own box rather than the best-scoring box nearby). A detection covering
  ``merged_box_cover`` of two tracks' predicted boxes each while fitting neither (IoU <
  ``merged_box_max_iou``) is one box over two hands: it is matched to neither and starts nothing; the two
  tracks are "held" (estimated on their predicted boxes, no miss counted).
- ``observe`` stores the estimate's keypoint centre (full-image px) and plausibility (the fraction of its
  keypoints inside its crop) for the next prediction and the schedule, and returns the
  :class:`~wildhands_core.estimate.HandEstimate` smoothed by the track's ``HandSmoother`` (see
  ``smoothing.hand_smoother``). A landmark detector's keypoints (MediaPipe's 21) make its detection box,
  which the following frames start from; the velocity comes from the estimates (one source, so a constant
  offset between the two makes no velocity).
- A track is published (``publishable``) once it is confirmed by ``min_hits`` detections AND by
  ``min_plausible_estimates`` estimates in a row that look like a hand (keypoints inside the crop, a wrist
  depth and a projected size plausible for the camera: ``tracking.plausibility``), and only on frames whose
  estimate looks like a hand; ``max_implausible_estimates`` in a row end it (a track born on the background
  does not outlive its estimates; ``require_plausible=False`` turns both off). With ``lock_side`` a
  confirmed track keeps its side for life: detections that turn its handedness vote, or a second track
  that needs its side, end it, and the hand is found again by a new track of the other side (a consumer
  never sees one id change hands). The vote adds each detection's label (weight: its score) and, when the
  model has a side classifier (``HandEstimate.right_prob``), each estimate's own side (weight
  ``estimate_side_weight`` x |2 P(right) - 1|): a track born with the detector's wrong label takes the
  side its crops show before it is published, and a published track whose crops turn the vote ends.
  ``ended`` counts the tracks ended by reason. A detection matched to a followed track moves its box
  ``detection_gain`` of the way from the box it predicted to the detection (less than 1 damps the jump of a
  re-detection).
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
from wildhands_core.tracking.assignment import assign, association_cost
from wildhands_core.tracking.config import TrackerConfig
from wildhands_core.tracking.handedness import HandednessVote
from wildhands_core.tracking.plausibility import implausibility
from wildhands_core.tracking.track import Track, TrackedBox


class HandTracker:
    """Tracks up to ``config.max_hands`` hands; see the module docstring for the per-frame flow."""

    def __init__(self, config: TrackerConfig | None = None, smoothing: SmoothingConfig | None = None) -> None:
        self.config = copy.deepcopy(config) if config is not None else TrackerConfig()
        self.smoothing = copy.deepcopy(smoothing) if smoothing is not None else SmoothingConfig()
        self._next_id = 0
        #: tracks ended, by reason: "missed" (no detection for max_missed detection frames), "implausible"
        #: (max_implausible_estimates estimates in a row did not look like a hand), "side" (a locked track's
        #: detections or estimates turned its handedness vote), "replaced" (with one_per_side, a track the
        #: detector missed gave its side to a detection of that side elsewhere); never reset
        self.ended: dict[str, int] = {"missed": 0, "implausible": 0, "side": 0, "replaced": 0}
        #: why the estimate of the last :meth:`observe` did not look like a hand (None: it did)
        self.last_implausible_reason: str | None = None
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
        confirmed tracks than ``max_hands`` and ``search_every_n`` frames have passed; a track is
        tentative or coasting, has no keypoints yet, keypoints older than ``max_follow_gap_s``, or fewer of
        its last estimate's keypoints inside its crop than ``min_keypoints_in_crop``; or time went
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
        confirmed = sum(t.confirmed for t in self._tracks.values())
        if confirmed < c.max_hands and n >= c.search_every_n:
            return True
        for t in self._tracks.values():
            if not t.confirmed or t.missed > 0 or t.keypoints_stamp_ns is None:
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
            t.held = False
        self._detected_this_frame = detections is not None
        if detections is None:
            if self._frames_since_detection is not None:
                self._frames_since_detection += 1
            return self.tracks
        self._frames_since_detection = 0
        self._detection_stamp_ns = stamp_ns
        floor = min(c.low_detection_score, c.min_detection_score)
        dets = [d for d in detections if d.score >= floor]
        weak = np.array([d.score < c.min_detection_score for d in dets], dtype=bool)
        tracks = self.tracks
        predicted = np.array([self._predict(t, stamp_ns, image_size) for t in tracks]).reshape(-1, 4)
        merged = self._merged(predicted, dets)
        usable = [i for i in range(len(dets)) if i not in merged]
        # a detection below min_detection_score may keep a track it overlaps well, never start one
        cost = association_cost(
            predicted, [t.is_right for t in tracks], [dets[i] for i in usable],
            c.iou_gate, c.centre_gate, c.centre_weight, c.handedness_weight,
            min_iou=[c.low_score_iou_gate if weak[i] else 0.0 for i in usable],
        )
        matches, lost, new_u = assign(cost)
        matches = [(ti, usable[k]) for ti, k in matches]
        new = [usable[k] for k in new_u if not weak[usable[k]]]
        for ti, di in matches:
            t = tracks[ti]
            self._on_match(t, dets[di], stamp_ns, predicted[ti])
            if t.locked_side is not None and t.handedness.is_right != t.locked_side:
                # a published track never changes side: it ends, and its detection may start the other's
                self._end(t, "side")
                if not weak[di]:
                    new.append(di)
        covered = {ti for di in merged for ti in merged[di]}
        for ti in lost:
            t = tracks[ti]
            if ti in covered and t.confirmed:
                t.held = True  # inside a box over two hands: estimated on its predicted box, not missed
                continue
            t.missed += 1
            if not t.confirmed or t.missed > c.max_missed:
                self._end(t, "missed")
        for di in sorted(new, key=lambda i: -dets[i].score):
            self._maybe_birth(dets[di], stamp_ns, image_size)
        if c.one_per_side:
            self._resolve_sides()
        for t in self.tracks:
            self._maybe_confirm(t)
        return self.tracks

    def boxes_for_estimation(
        self, stamp_ns: int, image_size: tuple[int, int] | None = None
    ) -> list[TrackedBox]:
        """Crops to estimate at ``stamp_ns`` after ``update``: detection boxes of matched tracks, or, on
        frames without detection and for held tracks, their predicted boxes (``Track.predicted_box``).
        Coasting tracks and boxes smaller than ``min_box_size_px`` (e.g. the hand left the image) are left
        out."""
        out: list[TrackedBox] = []
        for t in self.tracks:
            if t.detection is not None:
                box, from_det = t.box_xyxy_px.copy(), True
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

    def observe(
        self, track_id: int, stamp_ns: int, estimate: HandEstimate, K_px: np.ndarray | None = None
    ) -> HandEstimate:
        """Record the estimate of ``track_id`` at ``stamp_ns``: the motion of its keypoints' centre
        (full-image px) moves the next box, the fraction of its keypoints inside its crop schedules
        detection, and whether it looks like a hand (``tracking.plausibility``) confirms the track or,
        ``max_implausible_estimates`` times in a row, ends it (publish only :meth:`publishable` tracks);
        returns ``estimate`` smoothed by the track's smoother (keypoints re-projected with the image's
        ``K_px`` when given)."""
        t = self._tracks[track_id]
        c = self.config
        why = implausibility(
            estimate, c.min_keypoints_in_crop, (c.min_hand_depth_m, c.max_hand_depth_m),
            (c.min_hand_size_ratio, c.max_hand_size_ratio), c.max_keypoint_offset,
        )
        t.implausible_reason = self.last_implausible_reason = why
        p = estimate.right_prob
        if p is not None and c.estimate_side_weight > 0:
            t.handedness.add(p > 0.5, c.estimate_side_weight * abs(2.0 * p - 1.0))
            t.side_estimates += 1
        if why is None:
            t.plausible_run += 1
            t.implausible_run = 0
            self._maybe_confirm(t)
        else:
            t.plausible_run = 0
            t.implausible_run += 1
            if c.require_plausible and t.implausible_run >= c.max_implausible_estimates:
                self._end(t, "implausible")
        if t.locked_side is not None and t.handedness.is_right != t.locked_side and track_id in self._tracks:
            self._end(t, "side")  # its own estimates turned the vote: a published track never changes side
        stamp_ns = int(stamp_ns)
        kp = np.asarray(estimate.keypoints_px, dtype=np.float64).reshape(-1, 2)
        finite = np.all(np.isfinite(kp), axis=1)
        if finite.any():
            centre = kp[finite].mean(axis=0)
            if self.config.velocity_from_estimates:
                t.measure_centre("kp", centre, stamp_ns, self.config.velocity_gain)
            if t.detection is not None and stamp_ns == t.box_stamp_ns:
                t.anchor_centre_px = centre  # the estimate on the detection's own frame
            t.keypoints_centre_px = centre
            t.keypoints_stamp_ns = stamp_ns
        t.keypoints_in_crop = estimate.keypoints_in_crop
        return t.smoother.smooth(stamp_ns, estimate, K_px)

    def publishable(self, track_id: int) -> bool:
        """Is ``track_id`` a live track to publish after :meth:`observe`: confirmed (``min_hits``
        detections and ``min_plausible_estimates`` estimates that looked like a hand), its latest estimate
        too, and not ended by it."""
        t = self._tracks.get(track_id)
        if t is None:
            return False
        return t.publishable if self.config.require_plausible else t.confirmed

    # -------------------------------------------------------------- internals
    def _end(self, t: Track, reason: str) -> None:
        self._tracks.pop(t.track_id, None)
        self.ended[reason] += 1

    def _maybe_confirm(self, t: Track) -> None:
        c = self.config
        if t.confirmed or t.hits < c.min_hits:
            return
        if c.require_plausible and t.plausible_run < c.min_plausible_estimates:
            return
        t.confirmed = True
        if c.lock_side:
            t.locked_side = t.handedness.is_right

    def _predict(self, t: Track, stamp_ns: int, image_size: tuple[int, int] | None) -> np.ndarray:
        c = self.config
        return t.predicted_box(stamp_ns, c.max_prediction_s, c.max_follow_gap_s, image_size, c.follow_gain)

    def _merged(self, predicted: np.ndarray, dets: Sequence[HandDetection]) -> dict[int, list[int]]:
        """Detections that cover >= ``merged_box_cover`` of the area of two or more tracks' predicted boxes
        while overlapping each of them by IoU < ``merged_box_max_iou`` (one box over two hands, fitting
        neither): detection index -> the indices of the tracks it covers."""
        c = self.config
        out: dict[int, list[int]] = {}
        if len(predicted) < 2 or not dets or c.merged_box_cover > 1.0:
            return out
        area = np.prod(np.maximum(predicted[:, 2:] - predicted[:, :2], 1e-6), axis=1)
        db = np.stack([d.box_xyxy_px for d in dets])
        iou = box_iou_xyxy(predicted, db)
        for di, b in enumerate(db):
            lo = np.maximum(predicted[:, :2], b[:2])
            hi = np.minimum(predicted[:, 2:], b[2:])
            cover = np.prod(np.clip(hi - lo, 0.0, None), axis=1) / area
            ts = np.flatnonzero(cover >= c.merged_box_cover)
            if len(ts) >= 2 and np.all(iou[ts, di] < c.merged_box_max_iou):
                out[di] = [int(i) for i in ts]
        return out

    def _on_match(self, t: Track, d: HandDetection, stamp_ns: int, predicted: np.ndarray) -> None:
        c = self.config
        t.measure_centre("det", 0.5 * (d.box_xyxy_px[:2] + d.box_xyxy_px[2:]), stamp_ns, c.velocity_gain)
        if t.confirmed and t.keypoints_stamp_ns is not None:
            t.box_xyxy_px = predicted + c.detection_gain * (d.box_xyxy_px - predicted)
        else:
            t.box_xyxy_px = d.box_xyxy_px.copy()
        t.box_stamp_ns = stamp_ns
        t.anchor_centre_px = None  # until this frame's estimate
        t.detection = d
        t.score = d.score
        t.hits += 1
        t.missed = 0
        t.handedness.add(d.is_right, d.score)

    def _maybe_birth(self, d: HandDetection, stamp_ns: int, image_size: tuple[int, int] | None) -> None:
        c = self.config
        if len(self._tracks) >= self._capacity:
            # with one_per_side a full tracker holds one track per side: a detection of a side whose track
            # the detector missed this frame is that hand found elsewhere (the track's box lost it); the
            # track gives way rather than coast on for max_missed detection frames while the hand is seen
            lost = [t for t in self._tracks.values() if t.detection is None and t.is_right == d.is_right]
            if not (c.one_per_side and c.replace_lost_side and lost):
                return
            self._end(lost[0], "replaced")
        if self._tracks:
            boxes = np.array([self._predict(t, stamp_ns, image_size) for t in self._tracks.values()])
            if np.max(box_iou_xyxy(boxes, d.box_xyxy_px)) > c.birth_iou_suppress:
                return
        t = Track(
            track_id=self._next_id,
            box_xyxy_px=d.box_xyxy_px.copy(),
            box_stamp_ns=stamp_ns,
            handedness=HandednessVote(d.is_right, d.score, c.handedness_vote_cap),
            smoother=HandSmoother(self.smoothing),
            score=d.score,
            detection=d,
        )
        t.measure_centre("det", 0.5 * (d.box_xyxy_px[:2] + d.box_xyxy_px[2:]), stamp_ns, c.velocity_gain)
        self._tracks[t.track_id] = t
        self._next_id += 1

    def _resolve_sides(self) -> None:
        """With ``one_per_side``: if two tracks claim the same side, this frame's detections decide when
        both tracks got one, the two say different sides and neither track has votes of its estimates (each
        track takes its detection's side: e.g. a track that kept the wrong side through two hands crossing,
        and a new track on the other hand); otherwise the weaker vote (tentative tracks are weaker than
        confirmed ones) takes the other side: where the estimates vote, the labels are already in the vote.
        With ``lock_side`` a confirmed track does not change side: where it would, it ends instead (the
        hand is found again by a new track of the right side)."""
        ts = list(self._tracks.values())
        if len(ts) != 2 or ts[0].is_right != ts[1].is_right:
            return
        d0, d1 = ts[0].detection, ts[1].detection
        by_estimates = ts[0].side_estimates > 0 or ts[1].side_estimates > 0
        if d0 is not None and d1 is not None and d0.is_right != d1.is_right and not by_estimates:
            for t, d in ((ts[0], d0), (ts[1], d1)):
                self._set_side(t, d.is_right)
            return
        weaker = min(ts, key=lambda t: (t.confirmed, t.handedness.margin, -t.track_id))
        self._set_side(weaker, not weaker.is_right)

    def _set_side(self, t: Track, is_right: bool) -> None:
        if t.is_right == is_right:
            return
        if t.locked_side is not None:
            self._end(t, "side")
        else:
            t.handedness.force(is_right)
