"""One frame through detector + tracker + estimator + smoother (ROS-free; used by the node, bag tools, demo).

Per image (RGB (H, W, 3) uint8, intrinsics ``K_px`` (3, 3) in pixels of that image, stamp int ns)::

    dets  = detector.detect(image, stamp)  if tracker.needs_detection(stamp) else None
    boxes = tracker.step(stamp, dets, (W, H))                 # TrackedBox: id, box, side, confirmed
    ests  = estimator.estimate(image, K_px, [HandBox ...])    # one HandEstimate per box, same order
    each  = tracker.observe(id, stamp, estimate, K_px)        # HandEstimate -> smoothed HandEstimate
    -> the smoothed estimates of PUBLISHABLE tracks (confirmed by detections and by estimates that look
       like a hand, the latest included), with ``track_id`` set, sorted by track id.

Smoothed values: joints (metres, camera frame), MANO translation, β and the 16 MANO rotations (SO(3) One
Euro); ``keypoints_px`` are re-projected from the smoothed joints with ``K_px``; ``vertices_m`` (when the
estimator returns them) are the raw ones shifted by the smoothed-minus-raw wrist offset. With tracking
off, every detection is estimated each frame, ``track_id`` is -1 and nothing is smoothed; a hand whose
side classifier contradicts its detection's label (``untracked_side_margin``) is estimated as its own side.

Detector sources (``PipelineConfig.detector_sources``, combined by NMS per handedness):
``"external"`` (boxes given by the caller with :meth:`HandPipeline.set_external_boxes`, e.g. from a
topic), ``"mediapipe"`` (MediaPipe Hands: the default for real cameras; its landmarks give the box and the
tracker's prior for the next frame), ``"learned"`` (when a checkpoint is
configured and the learned detector module imports), all built by ``detection.factory``. Unavailable
sources are skipped and listed in ``HandPipeline.skipped_sources`` with the reason.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from wildhands_core.config import setting
from wildhands_core.detection.base import ExternalBoxes, HandDetection, HandDetector
from wildhands_core.detection.factory import (
    DEFAULT_DETECTOR_SOURCES,
    DETECTOR_BACKENDS,
    DETECTOR_SOURCES,
    DetectorConfig,
    build_available_detector,
)
from wildhands_core.estimate import HandBox, HandEstimate
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.stamps import NS_PER_S, seconds_to_ns
from wildhands_core.tracking.config import TrackerConfig
from wildhands_core.tracking.tracker import HandTracker


class Estimator(Protocol):
    """Everything the pipeline, the node and the bag tools use of an estimator
    (``wildhands_core.estimator.HandPoseEstimator`` is the implementation)."""

    #: the inference backend that runs the network ("torch", "onnxruntime", "tensorrt", ...)
    backend_name: str
    #: where the MANO model comes from (e.g. "MANO from checkpoint", a file path, "procedural")
    mano_source: str

    def estimate(
        self, image_rgb: np.ndarray, K_px: np.ndarray | None, boxes: list[HandBox]
    ) -> list[HandEstimate]: ...

    def mano_faces(self) -> np.ndarray:
        """(F, 3) int64 triangle vertex indices of the MANO mesh (``HandEstimate.vertices_m`` rows)."""
        ...


_DETECTOR = DetectorConfig()


@dataclass
class PipelineConfig:
    """Detection, tracking and smoothing settings of :class:`HandPipeline` (not paper hyper-parameters:
    WildHands estimates single frames from given boxes). Each field documents itself
    (``wildhands_core.config.setting``); the ROS node's ``detector.*`` / ``tracking.*`` / ``smoothing.*``
    parameters are derived from these fields and defaults."""

    detector_sources: tuple[str, ...] = setting(
        DEFAULT_DETECTOR_SOURCES, description=f"detector sources, any of {DETECTOR_SOURCES}",
        choices=DETECTOR_SOURCES,
    )
    learned_detector_checkpoint: str | None = setting(
        None, description="checkpoint of the learned hand detector; empty = skip that source"
    )
    detector_device: str = setting(_DETECTOR.device, description="device of the learned detector")
    detector_backend: str = setting(
        _DETECTOR.learned_backend, description="backend of the learned detector (onnxruntime: about 6x "
        "faster on CPU, exported once into the cache)", choices=DETECTOR_BACKENDS,
    )
    detector_iou_threshold: float = setting(
        _DETECTOR.nms_iou, description="NMS IoU between sources, per handedness", range=(0.0, 1.0)
    )
    detector_min_score: float = setting(
        _DETECTOR.min_score, description="detections with a lower score are ignored", range=(0.0, 1.0)
    )
    external_tolerance_s: float = setting(
        _DETECTOR.external_tolerance_ns / NS_PER_S,
        description="external boxes match an image within this stamp difference (s)", range=(0.0, 1.0),
    )
    #: an external detector publishes its boxes after it saw the image; 0 = use what has arrived.
    external_wait_s: float = setting(
        0.1, description="a frame waits this long for its external boxes (s)", range=(0.0, 5.0)
    )
    tracking: bool = setting(
        True, description="track hands (ids, keypoint-based boxes between detections, smoothing)"
    )
    untracked_side_margin: float = setting(
        0.5, description="with tracking off: a hand whose side classifier (when the model has one) says the "
        "other side than its detection with |2 P(right) - 1| at least this is estimated again as that side "
        "(1: never; with tracking on, the tracker's handedness vote weighs it instead)", range=(0.0, 1.0),
    )
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)

    def __post_init__(self) -> None:
        self.detector_sources = tuple(self.detector_sources)
        bad = [s for s in self.detector_sources if s not in DETECTOR_SOURCES]
        if bad:
            raise ValueError(f"unknown detector sources {bad}; known: {DETECTOR_SOURCES}")

    @property
    def external_tolerance_ns(self) -> int:
        """``external_tolerance_s`` in int nanoseconds (rounded)."""
        return seconds_to_ns(self.external_tolerance_s)


@dataclass
class FrameTiming:
    """Seconds spent in each stage of the last :meth:`HandPipeline.process` call."""

    detect_s: float = 0.0
    estimate_s: float = 0.0
    track_s: float = 0.0
    total_s: float = 0.0
    detector_ran: bool = False


def detection_floor(config: PipelineConfig) -> float:
    """The lowest score a learned or external detection keeps: ``detector_min_score``, or the tracker's
    ``low_detection_score`` when lower (detections under ``detector_min_score`` only keep existing tracks);
    MediaPipe keeps ``detector_min_score`` (its confidences are not calibrated like the learned one's)."""
    return min(config.detector_min_score, config.tracker.low_detection_score)


def detector_config(config: PipelineConfig) -> DetectorConfig:
    """The factory config of ``config``'s detector sources: ``detection_floor`` is both the combined
    detector's floor and the learned detector's own threshold, ``detector_min_score`` MediaPipe's;
    MediaPipe finds at most ``tracker.max_hands`` hands and boxes its landmarks with the tracker's
    keypoint-box margin (the same box as the tracker's follow boxes from estimated keypoints)."""
    return DetectorConfig(
        sources=list(dict.fromkeys(config.detector_sources)),
        learned_checkpoint=config.learned_detector_checkpoint,
        learned_score_threshold=detection_floor(config),
        device=config.detector_device,
        learned_backend=config.detector_backend,
        mediapipe_max_hands=config.tracker.max_hands,
        mediapipe_min_confidence=config.detector_min_score,
        mediapipe_margin=config.tracker.keypoint_box_margin,
        external_tolerance_ns=config.external_tolerance_ns,
        nms_iou=config.detector_iou_threshold,
        min_score=detection_floor(config),
    )


def build_detector(
    config: PipelineConfig,
) -> tuple[HandDetector | None, ExternalBoxes | None, dict[str, str]]:
    """The combined detector of the configured sources, the external box store (or None), and the skipped
    sources with reasons (built by ``detection.factory.build_available_detector``)."""
    if not config.detector_sources:
        return None, None, {}
    return build_available_detector(detector_config(config))


class HandPipeline:
    """Detector + tracker + estimator + smoother for one frame at a time; see the module docstring.

    ``estimator``: an object with ``estimate(image_rgb, K_px, boxes) -> list[HandEstimate]`` (the project's
    ``HandPoseEstimator``). ``detector``: overrides the one built from ``config.detector_sources``.
    """

    def __init__(
        self, estimator: Estimator, config: PipelineConfig | None = None, detector: HandDetector | None = None
    ) -> None:
        self.config = config if config is not None else PipelineConfig()
        self.estimator = estimator
        if detector is not None:
            self.detector, self.external, self.skipped_sources = detector, None, {}
        else:
            self.detector, self.external, self.skipped_sources = build_detector(self.config)
        self.tracker = HandTracker(self.config.tracker, self.config.smoothing)
        self.last_timing = FrameTiming()
        self.last_raw: list[HandEstimate] = []  # the unsmoothed estimates of the last processed frame
        #: estimates of confirmed tracks not published because they did not look like a hand, by reason
        #: (``tracking.plausibility``: keypoints_outside_crop, depth, size); never reset
        self.withheld: dict[str, int] = {}
        # process() runs in one thread (e.g. the node's worker); update_smoothing()/reset() may come from
        # another (a parameter callback) and wait for the frame in progress.
        self._lock = threading.RLock()

    @property
    def active_sources(self) -> list[str]:
        return [s for s in self.config.detector_sources if s not in self.skipped_sources]

    def set_external_boxes(self, stamp_ns: int, detections: Sequence[HandDetection]) -> None:
        """Boxes found by someone else in the image stamped ``stamp_ns`` (full-image pixels)."""
        if self.external is None:
            raise RuntimeError("the 'external' detector source is not configured")
        self.external.set_boxes(stamp_ns, detections)

    def update_smoothing(self, smoothing: SmoothingConfig) -> None:
        """Change smoothing at run time (current tracks keep their filter state)."""
        with self._lock:
            self.config.smoothing = smoothing
            self.tracker.update_smoothing(smoothing)

    def reset(self) -> None:
        """Forget all tracks (e.g. the stamps jumped back: a bag restarted)."""
        with self._lock:
            self.tracker.reset()

    def warmup(self, size: tuple[int, int] = (640, 480)) -> None:
        """Run the detector and the estimator once on a blank (W, H) image so that lazy initialisation
        (ONNX Runtime / TensorRT sessions, allocators, oneDNN kernels) happens before the first real frame.
        Touches no track and no smoothing state."""
        w, h = size
        image = np.zeros((h, w, 3), np.uint8)
        K = np.array([[float(w), 0.0, w / 2.0], [0.0, float(w), h / 2.0], [0.0, 0.0, 1.0]])
        with self._lock:
            if self.detector is not None and self.external is None:
                self.detector.detect(image, None)
            boxes = [HandBox(np.array([0.2 * w, 0.4 * h, 0.4 * w, 0.7 * h]), True),
                     HandBox(np.array([0.6 * w, 0.4 * h, 0.8 * w, 0.7 * h]), False)]
            self.estimator.estimate(image, K, boxes[: max(1, self.config.tracker.max_hands)])

    def _recheck_sides(
        self, image_rgb: np.ndarray, K_px: np.ndarray, boxes: list[HandBox], ests: list[HandEstimate]
    ) -> list[HandEstimate]:
        """Untracked: the hands whose own side (``right_prob``) contradicts their detection's label by at
        least ``untracked_side_margin``, estimated again with the other side's head (one more network run,
        only when some hand disagrees)."""
        margin = self.config.untracked_side_margin
        flip = [k for k, e in enumerate(ests) if e.right_prob is not None and margin < 1.0
                and (e.right_prob > 0.5) != e.is_right and abs(2.0 * e.right_prob - 1.0) >= margin]
        if not flip:
            return ests
        again = self.estimator.estimate(
            image_rgb, K_px, [dataclasses.replace(boxes[k], is_right=not boxes[k].is_right) for k in flip]
        )
        out = list(ests)
        for k, e in zip(flip, again, strict=True):
            out[k] = e
        return out

    def process(self, image_rgb: np.ndarray, K_px: np.ndarray, stamp_ns: int) -> list[HandEstimate]:
        """Estimate the hands of one image; see the module docstring for what is returned."""
        with self._lock:
            return self._process(image_rgb, K_px, stamp_ns)

    def _process(self, image_rgb: np.ndarray, K_px: np.ndarray, stamp_ns: int) -> list[HandEstimate]:
        t0 = time.perf_counter()
        timing = FrameTiming()
        h, w = image_rgb.shape[:2]
        stamp_ns = int(stamp_ns)
        tracker = self.tracker
        if not self.config.tracking:
            dets = self._detect(image_rgb, stamp_ns, timing)
            # without tracks to keep, a detection under detector_min_score is not a hand (detection_floor)
            keep = [d for d in dets or [] if d.score >= self.config.detector_min_score]
            boxes = [HandBox(d.box_xyxy_px, d.is_right, d.score) for d in keep]
            boxes = sorted(boxes, key=lambda b: -b.score)[: self.config.tracker.max_hands]
            t1 = time.perf_counter()
            ests = self.estimator.estimate(image_rgb, K_px, boxes) if boxes else []
            ests = self._recheck_sides(image_rgb, K_px, boxes, ests)
            timing.estimate_s = time.perf_counter() - t1
            timing.total_s = time.perf_counter() - t0
            self.last_timing = timing
            self.last_raw = ests
            return ests
        needs = tracker.needs_detection(stamp_ns)
        dets = self._detect(image_rgb, stamp_ns, timing) if needs else None
        t1 = time.perf_counter()
        tracked = tracker.step(stamp_ns, dets, image_size=(w, h))
        # score = the track's latest detection score (the estimator's confidence is score x keypoints in crop)
        boxes = [
            HandBox(tb.box_xyxy_px, tb.is_right, tracker.track(tb.track_id).score, tb.track_id)
            for tb in tracked
        ]
        t2 = time.perf_counter()
        ests = self.estimator.estimate(image_rgb, K_px, boxes) if boxes else []
        t3 = time.perf_counter()
        if len(ests) != len(boxes):
            raise RuntimeError(f"estimator returned {len(ests)} estimates for {len(boxes)} boxes")
        out: list[HandEstimate] = []
        raw: list[HandEstimate] = []
        for tb, est in zip(tracked, ests, strict=True):
            smoothed = tracker.observe(tb.track_id, stamp_ns, est, K_px)
            if tracker.publishable(tb.track_id):
                side = {"track_id": tb.track_id, "is_right": bool(tb.is_right)}
                out.append(dataclasses.replace(smoothed, **side))
                raw.append(dataclasses.replace(est, **side))
            elif tb.confirmed:  # a published hand whose estimate of this frame did not look like a hand
                why = tracker.last_implausible_reason or "unknown"
                self.withheld[why] = self.withheld.get(why, 0) + 1
        timing.estimate_s = t3 - t2
        timing.track_s = (t2 - t1) + (time.perf_counter() - t3)
        timing.total_s = time.perf_counter() - t0
        self.last_timing = timing
        self.last_raw = sorted(raw, key=lambda e: e.track_id)
        return sorted(out, key=lambda e: e.track_id)

    def _detect(
        self, image_rgb: np.ndarray, stamp_ns: int, timing: FrameTiming
    ) -> list[HandDetection] | None:
        if self.detector is None:
            return None if self.config.tracking else []
        t = time.perf_counter()
        if self.external is not None and self.config.external_wait_s > 0:
            self.external.wait(stamp_ns, self.config.external_wait_s)
        dets = self.detector.detect(image_rgb, stamp_ns)
        timing.detect_s = time.perf_counter() - t
        timing.detector_ran = True
        return dets


__all__ = [
    "DETECTOR_SOURCES",
    "Estimator",
    "FrameTiming",
    "HandPipeline",
    "PipelineConfig",
    "build_detector",
    "detection_floor",
    "detector_config",
]
