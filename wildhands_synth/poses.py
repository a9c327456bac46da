"""Plausible hand articulations as MANO axis-angle, from a small anatomical parameterisation.

An articulation is 20 angles in radians (``ARTICULATION_NAMES``): for index, middle, ring and pinky the
MCP flexion, MCP abduction (spread, positive = away from the middle finger), PIP and DIP flexion; for the
thumb the CMC abduction (away from the index, in the palm plane), CMC opposition (towards the palm side),
MCP and IP flexion. Angles are measured from MANO's flat template hand (all joint rotations zero);
flexion is positive towards the palm. The rotation axes come from the template's own joints
(``HandAxes.from_rest_joints``), so the same articulation means the same thing for the right and left
MANO models and for any MANO-format mesh.

``to_pose_aa`` converts to MANO's 48-value axis-angle *relative to the mean pose* (smplx
``flat_hand_mean=False``: smplx adds ``hands_mean`` to the 45 finger values), global orientation first.

Families (``FAMILIES``) are typical articulations (open, relaxed, pinch, power grasp, point, fist...);
``sample_articulation`` picks one, optionally blends it with another, adds noise and clips to
``ANATOMICAL_RANGES``. Each family has a grasp class of ``wildhands_core.constants.GRASP_CLASS_NAMES``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.constants import GRASP_CLASS_NAMES, NUM_HAND_POSE, NUM_MANO_JOINTS

FINGERS: tuple[str, ...] = ("index", "middle", "ring", "pinky")
ARTICULATION_NAMES: tuple[str, ...] = (
    *(f"{finger}_{part}" for finger in FINGERS for part in ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex")),
    "thumb_cmc_abd", "thumb_cmc_opp", "thumb_mcp_flex", "thumb_ip_flex",
)
NUM_ARTICULATION = len(ARTICULATION_NAMES)

#: MANO joint ids (within the 21-joint order) of each finger's three joints and its fingertip.
FINGER_CHAINS: dict[str, tuple[int, int, int, int]] = {
    "index": (1, 2, 3, 17),
    "middle": (4, 5, 6, 18),
    "ring": (10, 11, 12, 19),
    "pinky": (7, 8, 9, 20),
    "thumb": (13, 14, 15, 16),
}

#: (low, high) radians per articulation value: finger joints (approximate human ranges of motion).
_FINGER_RANGES = ((-0.35, 1.6), (-0.3, 0.35), (0.0, 1.9), (0.0, 1.3))
_THUMB_RANGES = ((-0.3, 0.8), (-0.2, 1.2), (-0.2, 1.0), (-0.2, 1.3))
ANATOMICAL_RANGES: np.ndarray = np.array(_FINGER_RANGES * 4 + _THUMB_RANGES, dtype=np.float64)


def _fingers(index: tuple, middle: tuple, ring: tuple, pinky: tuple, thumb: tuple) -> np.ndarray:
    return np.array(index + middle + ring + pinky + thumb, dtype=np.float64)


@dataclass(frozen=True)
class PoseFamily:
    name: str
    articulation: np.ndarray  # (20,) radians
    grasp_label: int  # index into GRASP_CLASS_NAMES


def _family(name: str, grasp: str, art: np.ndarray) -> PoseFamily:
    return PoseFamily(name, art, GRASP_CLASS_NAMES.index(grasp))


#: Per finger (MCP flex, MCP abd, PIP, DIP); thumb (CMC abd, CMC opp, MCP, IP). Grasp class chosen from
#: the shape alone (there is no object): open/relaxed hands -> no-grasp, flat press -> NP-Palm, pointing ->
#: NP-Fin, pinch -> Pre-Pris, tripod -> Pre-Circ, cylinder wrap -> Pow-Circ, flat wrap -> Pow-Pris,
#: key pinch -> Lateral, fist -> Other.
FAMILIES: tuple[PoseFamily, ...] = (
    _family("open", "no-grasp", _fingers(
        (0.0, 0.2, 0.05, 0.05), (0.0, 0.05, 0.05, 0.05), (0.0, 0.1, 0.05, 0.05), (0.0, 0.25, 0.05, 0.05),
        (0.5, 0.1, 0.0, 0.0))),
    _family("relaxed", "no-grasp", _fingers(
        (0.3, 0.05, 0.5, 0.3), (0.35, 0.0, 0.6, 0.3), (0.4, 0.05, 0.65, 0.3), (0.45, 0.1, 0.7, 0.3),
        (0.3, 0.3, 0.2, 0.2))),
    _family("flat_press", "NP-Palm", _fingers(
        (-0.15, -0.05, 0.0, 0.0), (-0.15, 0.0, 0.0, 0.0), (-0.15, -0.05, 0.0, 0.0), (-0.15, -0.05, 0.0, 0.0),
        (0.1, 0.0, 0.0, 0.0))),
    _family("point", "NP-Fin", _fingers(
        (0.05, 0.0, 0.05, 0.05), (1.4, 0.0, 1.6, 0.9), (1.4, 0.0, 1.6, 0.9), (1.4, 0.0, 1.6, 0.9),
        (0.1, 0.6, 0.4, 0.5))),
    _family("pinch", "Pre-Pris", _fingers(
        (0.7, 0.0, 0.8, 0.4), (0.5, 0.0, 0.6, 0.3), (0.4, 0.05, 0.5, 0.3), (0.35, 0.1, 0.5, 0.3),
        (0.3, 0.9, 0.3, 0.4))),
    _family("tripod", "Pre-Circ", _fingers(
        (0.8, 0.0, 0.7, 0.3), (0.8, 0.0, 0.7, 0.3), (0.9, 0.0, 1.2, 0.6), (0.9, 0.0, 1.2, 0.6),
        (0.3, 1.0, 0.35, 0.35))),
    _family("power", "Pow-Circ", _fingers(
        (0.9, 0.0, 1.3, 0.7), (0.9, 0.0, 1.3, 0.7), (0.9, 0.0, 1.3, 0.7), (0.9, 0.0, 1.3, 0.7),
        (0.2, 1.0, 0.5, 0.6))),
    _family("power_prismatic", "Pow-Pris", _fingers(
        (1.3, 0.0, 0.9, 0.4), (1.3, 0.0, 0.9, 0.4), (1.3, 0.0, 0.9, 0.4), (1.3, 0.0, 0.9, 0.4),
        (0.0, 0.4, 0.2, 0.2))),
    _family("lateral", "Lateral", _fingers(
        (0.9, 0.0, 1.3, 0.7), (1.2, 0.0, 1.5, 0.8), (1.2, 0.0, 1.5, 0.8), (1.2, 0.0, 1.5, 0.8),
        (-0.1, 0.2, 0.3, 0.2))),
    _family("fist", "Other", _fingers(
        (1.5, 0.0, 1.8, 1.1), (1.5, 0.0, 1.8, 1.1), (1.5, 0.0, 1.8, 1.1), (1.5, 0.0, 1.8, 1.1),
        (0.0, 0.8, 0.7, 0.8))),
)
FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in FAMILIES)


def clip_articulation(articulation: np.ndarray) -> np.ndarray:
    """Clip (..., 20) angles to ``ANATOMICAL_RANGES``."""
    return np.clip(articulation, ANATOMICAL_RANGES[:, 0], ANATOMICAL_RANGES[:, 1])


def sample_articulation(
    rng: np.random.Generator, blend_prob: float = 0.5, max_blend: float = 0.35, noise_rad: float = 0.08
) -> tuple[np.ndarray, int]:
    """Random articulation -> ((20,) radians, family index). The family is the dominant one of the blend."""
    fam = int(rng.integers(len(FAMILIES)))
    art = FAMILIES[fam].articulation.copy()
    if rng.random() < blend_prob:
        other = FAMILIES[int(rng.integers(len(FAMILIES)))].articulation
        w = rng.uniform(0.0, max_blend)
        art = (1.0 - w) * art + w * other
    art = art + rng.normal(0.0, noise_rad, size=art.shape)
    return clip_articulation(art), fam


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _axis_towards(bone: np.ndarray, towards: np.ndarray) -> np.ndarray:
    """Unit axis a with a x bone pointing towards ``towards``: a positive rotation moves the bone that way."""
    return _unit(np.cross(bone, towards))


@dataclass(frozen=True)
class HandAxes:
    """Anatomical directions of a MANO template hand (MANO frame, unit vectors) and per-joint axes.

    ``finger_dir``: wrist -> middle MCP; ``thumb_side``: pinky MCP -> index MCP (orthogonal to
    ``finger_dir``); ``palm_normal``: out of the palm. ``flex_axes``/``abd_axes`` (16, 3): rotation
    axes of each MANO joint (row 0, the wrist, unused).
    """

    is_right: bool
    finger_dir: np.ndarray
    thumb_side: np.ndarray
    palm_normal: np.ndarray
    flex_axes: np.ndarray
    abd_axes: np.ndarray

    @classmethod
    def from_rest_joints(cls, rest_joints: np.ndarray, is_right: bool) -> HandAxes:
        """(21, 3) joints of the flat template (all joint rotations zero), MANO21 order."""
        j = np.asarray(rest_joints, dtype=np.float64)
        f = _unit(j[4] - j[0])
        t = j[1] - j[7]
        t = _unit(t - f * (t @ f))
        n = np.cross(t, f) if is_right else np.cross(f, t)
        flex = np.zeros((NUM_MANO_JOINTS, 3))
        abd = np.zeros((NUM_MANO_JOINTS, 3))
        for finger, chain in FINGER_CHAINS.items():
            for k in range(3):
                bone = j[chain[k + 1]] - j[chain[k]]
                if finger == "thumb":
                    bend = _unit(0.7 * n - 0.7 * t) if k > 0 else n
                    flex[chain[k]] = _axis_towards(bone, bend)
                    abd[chain[k]] = _axis_towards(bone, t)
                else:
                    flex[chain[k]] = _axis_towards(bone, n)
                    spread = j[chain[0]] - j[4]
                    spread = spread - f * (spread @ f) - n * (spread @ n)
                    if finger == "middle" or np.linalg.norm(spread) < 1e-9:
                        spread = t  # the middle finger's "spread" is towards the thumb
                    abd[chain[k]] = _axis_towards(bone, _unit(spread))
        return cls(is_right, f, t, n, flex, abd)


def articulation_to_local_rotvecs(articulation: np.ndarray, axes: HandAxes) -> np.ndarray:
    """(N, 20) articulation -> (N, 15, 3) absolute joint rotations (axis-angle, from the flat template)."""
    art = np.atleast_2d(articulation)
    n = art.shape[0]
    rots = [Rotation.identity(n) for _ in range(NUM_MANO_JOINTS)]
    for fi, finger in enumerate(FINGERS):
        mcp, pip, dip, _ = FINGER_CHAINS[finger]
        a = art[:, 4 * fi: 4 * fi + 4]
        rots[mcp] = Rotation.from_rotvec(a[:, 1:2] * axes.abd_axes[mcp]) * Rotation.from_rotvec(
            a[:, 0:1] * axes.flex_axes[mcp])
        rots[pip] = Rotation.from_rotvec(a[:, 2:3] * axes.flex_axes[pip])
        rots[dip] = Rotation.from_rotvec(a[:, 3:4] * axes.flex_axes[dip])
    cmc, mcp, ip, _ = FINGER_CHAINS["thumb"]
    a = art[:, 16:20]
    rots[cmc] = Rotation.from_rotvec(a[:, 1:2] * axes.flex_axes[cmc]) * Rotation.from_rotvec(
        a[:, 0:1] * axes.abd_axes[cmc])
    rots[mcp] = Rotation.from_rotvec(a[:, 2:3] * axes.flex_axes[mcp])
    rots[ip] = Rotation.from_rotvec(a[:, 3:4] * axes.flex_axes[ip])
    return np.stack([rots[k].as_rotvec() for k in range(1, NUM_MANO_JOINTS)], axis=1)


def to_pose_aa(
    articulation: np.ndarray, global_rotvec: np.ndarray, axes: HandAxes, hands_mean_aa: np.ndarray
) -> np.ndarray:
    """(N, 20) articulation, (N, 3) global orientation (axis-angle) -> (N, 48) MANO pose relative to the
    mean pose: ``[global, local - hands_mean]`` with ``hands_mean_aa`` (45,) the model's mean finger pose."""
    local = articulation_to_local_rotvecs(articulation, axes).reshape(-1, NUM_HAND_POSE)
    glob = np.atleast_2d(global_rotvec)
    return np.concatenate([glob, local - np.asarray(hands_mean_aa, dtype=np.float64)[None]], axis=1)
