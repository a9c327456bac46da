"""Build a hand detector from a config: any of the sources "external", "mediapipe", "learned", combined.

The one place that constructs detector sources (``HandPipeline``, the node and the bag tools go through it).
``build_detector(DetectorConfig(sources=["mediapipe", "external"]))`` returns a ``CombinedDetector`` over the
sources in the order given (NMS per handedness at ``nms_iou`` after dropping scores below ``min_score``).
The external box store (a thread-safe ``LockedExternalBoxes``), if configured, is
``external_source(detector)``: feed it with ``set_boxes``. Optional sources that cannot be built raise
(ImportError where mediapipe is not installed, ValueError for a learned source without a checkpoint); the
config names what is wrong. ``build_available_detector`` builds what it can instead and returns the
skipped sources with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wildhands_core.config import dataclass_from_dict, described, setting
from wildhands_core.detection.base import CombinedDetector, ExternalBoxes, HandDetector, LockedExternalBoxes
from wildhands_core.tracking.config import TrackerConfig

#: Detector sources the factory builds (also ``PipelineConfig`` / the node parameter ``detector.sources``).
DETECTOR_SOURCES: tuple[str, ...] = ("external", "mediapipe", "learned")
#: The sources used when none are configured: MediaPipe Hands, the detector for real cameras.
DEFAULT_DETECTOR_SOURCES: tuple[str, ...] = ("mediapipe",)
#: Backends of the learned detector (ONNX Runtime: about 6x faster on CPU, exported once into the cache).
DETECTOR_BACKENDS: tuple[str, ...] = ("torch", "onnxruntime")

_TRACKER = TrackerConfig()


@dataclass
class DetectorConfig:
    """Which detectors run and their settings (this project's choices; WildHands takes boxes from outside).

    The score floors, MediaPipe's hand count and box margin default to the tracker's (one value each:
    ``TrackerConfig.min_detection_score``, ``max_hands``, ``keypoint_box_margin``)."""

    sources: list[str] = field(
        default_factory=lambda: list(DEFAULT_DETECTOR_SOURCES),
        metadata=described(f"detector sources, any of {DETECTOR_SOURCES}", choices=DETECTOR_SOURCES),
    )
    learned_checkpoint: str | None = setting(
        None, description="learned: checkpoint (.pt of wildhands-train-detector or .onnx of "
        "export_detector_onnx); empty = none"
    )
    learned_backend: str = setting("torch", description="learned: backend", choices=DETECTOR_BACKENDS)
    learned_score_threshold: float = setting(
        _TRACKER.min_detection_score, description="learned: detections with a lower score are dropped",
        range=(0.0, 1.0),
    )
    device: str = setting("cpu", description="learned: torch device")
    mediapipe_max_hands: int = setting(
        _TRACKER.max_hands, description="mediapipe: hands found at most", range=(1, 8)
    )
    mediapipe_min_confidence: float = setting(
        _TRACKER.min_detection_score, description="mediapipe: MediaPipe's detection confidence",
        range=(0.0, 1.0),
    )
    mediapipe_image_is_mirrored: bool = setting(False, description="mediapipe: images are mirrored selfies")
    mediapipe_margin: float = setting(
        _TRACKER.keypoint_box_margin,
        description="mediapipe: box margin, fraction of the landmarks' box's longest side, per side",
    )
    external_tolerance_ns: int = setting(
        0, description="external: boxes match an image when stamps differ by at most this (ns)"
    )
    external_history: int = setting(30, description="external: stamps of boxes kept")
    nms_iou: float = setting(0.5, description="combination: NMS IoU per handedness", range=(0.0, 1.0))
    min_score: float = setting(
        _TRACKER.min_detection_score, description="combination: any source's detections with a lower "
        "score are dropped", range=(0.0, 1.0),
    )

    def __post_init__(self) -> None:
        self.sources = list(self.sources)
        if not self.sources:
            raise ValueError("DetectorConfig.sources is empty; choose from " + ", ".join(DETECTOR_SOURCES))
        bad = [s for s in self.sources if s not in DETECTOR_SOURCES]
        if bad:
            raise ValueError(f"unknown detector sources {bad}; known: {list(DETECTOR_SOURCES)}")
        if len(set(self.sources)) != len(self.sources):
            raise ValueError(f"detector sources repeat: {self.sources}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DetectorConfig:
        """From a mapping (e.g. YAML); unknown keys raise ValueError naming them."""
        return dataclass_from_dict(cls, d)


def build_source(name: str, cfg: DetectorConfig) -> HandDetector:
    """One detector of ``cfg`` by source name ("external": a ``LockedExternalBoxes``, safe to feed from
    another thread)."""
    if name == "external":
        return LockedExternalBoxes(tolerance_ns=cfg.external_tolerance_ns, history=cfg.external_history)
    if name == "mediapipe":
        from wildhands_core.detection.mediapipe_detector import MediaPipeHandDetector

        return MediaPipeHandDetector(
            max_hands=cfg.mediapipe_max_hands,
            min_confidence=cfg.mediapipe_min_confidence,
            image_is_mirrored=cfg.mediapipe_image_is_mirrored,
            margin=cfg.mediapipe_margin,
        )
    if name == "learned":
        if not cfg.learned_checkpoint:
            raise ValueError("no learned detector checkpoint configured (DetectorConfig.learned_checkpoint)")
        from wildhands_core.detection.learned import LearnedHandDetector

        return LearnedHandDetector(
            cfg.learned_checkpoint,
            device=cfg.device,
            score_threshold=cfg.learned_score_threshold,
            backend=cfg.learned_backend,
        )
    raise ValueError(f"unknown detector source {name!r}; known: {list(DETECTOR_SOURCES)}")


def build_detector(cfg: DetectorConfig) -> CombinedDetector:
    """A ``CombinedDetector`` over ``cfg.sources`` (in that order)."""
    return CombinedDetector([build_source(s, cfg) for s in cfg.sources], cfg.nms_iou, cfg.min_score)


def build_available_detector(
    cfg: DetectorConfig,
) -> tuple[CombinedDetector | None, ExternalBoxes | None, dict[str, str]]:
    """Like :func:`build_detector`, but a source that cannot be built is skipped: returns the combined
    detector of the others (None when none could be built), its external box store (or None), and the
    skipped sources with the reason."""
    detectors: list[HandDetector] = []
    skipped: dict[str, str] = {}
    for name in cfg.sources:
        try:
            detectors.append(build_source(name, cfg))
        except ImportError as exc:
            skipped[name] = f"unavailable ({exc})"
        except ValueError as exc:  # not configured (e.g. no checkpoint) or configured wrongly
            skipped[name] = str(exc)
        except Exception as exc:  # a detector that cannot start is reported, the others still run
            skipped[name] = f"failed to start: {exc}"
    if not detectors:
        return None, None, skipped
    combined = CombinedDetector(detectors, cfg.nms_iou, cfg.min_score)
    return combined, external_source(combined), skipped


def external_source(detector: CombinedDetector) -> ExternalBoxes | None:
    """The ``ExternalBoxes`` inside a detector built by ``build_detector`` (None if not configured)."""
    return next((d for d in detector.detectors if isinstance(d, ExternalBoxes)), None)
