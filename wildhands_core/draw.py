"""Overlays of estimated hands on images (ROS-free; the node's debug image and ``wildhands-video``).

Images (H, W, 3) uint8 RGB; keypoints and boxes in pixels of that image (centre of the top-left pixel at
(0, 0)). Colours are RGB in [0, 1], shared with the node's RViz markers.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from wildhands_core.constants import NUM_JOINTS, SKELETON_EDGES
from wildhands_core.estimate import HandEstimate

#: (r, g, b) in [0, 1] of right and left hands (overlays and markers).
RIGHT_RGB = (0.1, 0.6, 1.0)
LEFT_RGB = (1.0, 0.45, 0.1)


def draw_hands(image_rgb: np.ndarray, estimates: Sequence[HandEstimate]) -> np.ndarray:
    """A copy of ``image_rgb`` with each hand's box, skeleton (2D keypoints) and side, track id and
    confidence drawn."""
    out = np.ascontiguousarray(image_rgb).copy()
    thick = max(1, round(max(out.shape[:2]) / 400))
    for est in estimates:
        colour = tuple(int(255 * c) for c in (RIGHT_RGB if est.is_right else LEFT_RGB))
        kp = np.asarray(est.keypoints_px, np.float64).reshape(NUM_JOINTS, 2)
        if not np.isfinite(kp).all():
            continue
        for a, b in SKELETON_EDGES:
            cv2.line(out, _px(kp[a]), _px(kp[b]), colour, thick, cv2.LINE_AA)
        for p in kp:
            cv2.circle(out, _px(p), thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
        x0, y0, x1, y1 = np.asarray(est.box_xyxy_px, np.float64)
        cv2.rectangle(out, _px((x0, y0)), _px((x1, y1)), colour, thick)
        label = f"{'R' if est.is_right else 'L'}{est.track_id} {est.confidence:.2f}"
        cv2.putText(out, label, _px((x0, max(y0 - 4, 10))), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, colour,
                    thick, cv2.LINE_AA)
    return out


def _px(p) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))
