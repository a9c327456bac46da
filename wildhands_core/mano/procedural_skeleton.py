"""The procedural hand's skeleton: its five digits (MANO joint ids, first-joint positions, segment
directions and lengths, ring layout) in the right hand's rest frame (metres; fingers along -x, thumb on +z,
palm facing -y; see :mod:`wildhands_core.mano.procedural`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Wrist joint of the rest pose (m).
WRIST = np.array([0.090, 0.0, 0.0])
FINGER_RING = 10  # vertices per finger ring


@dataclass(frozen=True)
class Digit:
    """One digit: name, its three MANO joint ids, first-joint position (None: thumb, computed), directions
    of its three segments (first joint->second, second->third, third->tip), their lengths (m), half-width
    (along the knuckle line) and half-height at the base (m), and the s-fractions of its rings per segment."""

    name: str
    joints: tuple[int, int, int]
    base: tuple[float, float, float] | None
    dirs: tuple[tuple[float, float, float], ...]
    lengths: tuple[float, float, float]
    half_width: float
    half_height: float
    ring_fracs: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    ring_sizes: tuple[int, ...]


def unit_dir(x: float, y: float, z: float) -> tuple[float, float, float]:
    v = np.array([x, y, z])
    return tuple(float(c) for c in v / np.linalg.norm(v))


FINGER_RING_FRACS = ((0.25, 0.5, 0.75, 1.0), (0.33, 0.67, 1.0), (0.3, 0.6, 0.8, 0.93))
FINGER_RING_SIZES = (FINGER_RING,) * 11

# Order of the four fingers across the knuckle line, from the -z (ulnar) side to the +z (thumb) side.
FINGERS = (
    Digit("pinky", (7, 8, 9), (0.010, 0.0, -0.028), (unit_dir(-1, 0, -0.12),) * 3, (0.032, 0.020, 0.020),
           0.0075, 0.0072, FINGER_RING_FRACS, FINGER_RING_SIZES),
    Digit("ring", (10, 11, 12), (0.003, 0.0, -0.010), (unit_dir(-1, 0, -0.05),) * 3, (0.041, 0.026, 0.021),
           0.0085, 0.0080, FINGER_RING_FRACS, FINGER_RING_SIZES),
    Digit("middle", (4, 5, 6), (0.0, 0.0, 0.009), (unit_dir(-1, 0, 0.01),) * 3, (0.045, 0.028, 0.022),
           0.0090, 0.0084, FINGER_RING_FRACS, FINGER_RING_SIZES),
    Digit("index", (1, 2, 3), (0.004, 0.0, 0.028), (unit_dir(-1, 0, 0.07),) * 3, (0.040, 0.024, 0.021),
           0.0085, 0.0080, FINGER_RING_FRACS, FINGER_RING_SIZES),
)
THUMB = Digit(
    "thumb", (13, 14, 15), None,
    (unit_dir(-0.55, -0.25, 0.70), unit_dir(-0.8, -0.22, 0.5), unit_dir(-0.88, -0.2, 0.42)),
    (0.042, 0.032, 0.029), 0.0115, 0.0105,
    ((0.35, 0.6, 0.8, 1.0), (0.33, 0.67, 1.0), (0.25, 0.5, 0.7, 0.85, 0.95)),
    (11, 11, 11, 11, 11, 10, 10, 10, 10, 10, 10, 10),
)
# Order in which digits' vertices are numbered (MANO numbers the index finger's region first).
NUMBERING = ("index", "middle", "ring", "pinky", "thumb")



def chain_points(d: Digit, base: np.ndarray) -> np.ndarray:
    """(4, 3) positions: the digit's three joints and its tip."""
    pts = [base]
    for direction, length in zip(d.dirs, d.lengths, strict=True):
        pts.append(pts[-1] + length * np.asarray(direction))
    return np.array(pts)


def taper(d: Digit, seg: int, frac: float) -> tuple[float, float]:
    """Half-width and half-height (m) of a digit's ring on segment ``seg`` at fraction ``frac``."""
    s_total = sum(d.lengths)
    s = sum(d.lengths[:seg]) + frac * d.lengths[seg]
    scale = 1.0 - 0.22 * s / s_total
    if seg == 2 and frac > 0.6:  # rounded fingertip
        scale *= np.sqrt(max(1.0 - ((frac - 0.6) / 0.4) ** 2, 0.0)) ** 0.8
    return d.half_width * scale, d.half_height * scale



def thumb_flex_axis() -> np.ndarray:
    d = np.asarray(THUMB.dirs[0])
    towards = np.array([0.0, -1.0, -0.6])
    towards = towards - np.dot(towards, d) * d
    axis = np.cross(d, towards / np.linalg.norm(towards))
    return axis / np.linalg.norm(axis)
