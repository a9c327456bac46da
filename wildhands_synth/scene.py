"""Random egocentric scenes: camera intrinsics, hand placements and orientations, lights, occluders.

Camera optical frame (x right, y down, z forward, metres); pixel centres at integer coordinates.
Hands are placed with their palm centre (mean of the wrist and the five finger-base joints, which does not
depend on the finger articulation) 0.25-0.6 m in front of the camera, in the lower half of the image,
right hand mostly right of centre and left hand mostly left; fingers point away from the camera and up
the image (the forearm comes from the bottom of the view), palm mostly facing down or inwards.
Intrinsics range from a narrow (horizontal FOV 60 deg, fx ~ 0.87 W) to a wide-angle (120 deg) lens,
with the principal point jittered around the image centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from wildhands_core.constants import NUM_BETAS
from wildhands_synth.poses import HandAxes, sample_articulation

#: Skin albedos (linear RGB in [0, 1]) from light to dark; a frame picks one and jitters it.
SKIN_TONES: np.ndarray = np.array([
    [0.96, 0.80, 0.69], [0.90, 0.72, 0.58], [0.80, 0.60, 0.45],
    [0.65, 0.46, 0.33], [0.48, 0.33, 0.23], [0.33, 0.22, 0.15],
])
#: Palm-centre joints (MANO21 ids): wrist and the first joint of each finger.
PALM_JOINTS: tuple[int, ...] = (0, 1, 4, 7, 10, 13)


@dataclass
class SceneConfig:
    hfov_deg: tuple[float, float] = (60.0, 120.0)
    principal_jitter: float = 0.03  # std of (cx, cy) around the centre, fraction of W and H
    depth_m: tuple[float, float] = (0.25, 0.6)  # palm-centre z
    v_frac: tuple[float, float] = (0.5, 0.92)  # palm-centre image row, fraction of H (lower half)
    u_frac_right: tuple[float, float] = (0.38, 0.92)  # palm-centre column, fraction of W
    p_both: float = 0.8  # probability of both hands; the rest split evenly between right-only, left-only
    p_occluder: float = 0.25
    betas_std: float = 0.7
    betas_clip: float = 2.0
    # Detector training (``wildhands_synth.distractors``; all 0 by default: datasets made without them are
    # unchanged). Their random draws come from a stream of their own (``generate_frame``), so a frame's
    # hands, camera and background are the same with or without them.
    p_no_hands: float = 0.0  # probability of a hand-free frame (only the background, distractors painted)
    p_touching: float = 0.0  # probability that the left hand of a two-hand frame touches / overlaps the right
    max_distractors: int = 0  # hand-sized dark / skin-coloured shapes painted into the background: 0..this


@dataclass
class HandSpec:
    """One hand of a scene: articulation (20 radians, see poses), MANO betas, rotation of the MANO frame
    into the camera frame, palm centre in the camera frame (metres), albedo RGB in [0, 1]."""

    is_right: bool
    articulation: np.ndarray
    family: int
    betas: np.ndarray
    global_rotmat: np.ndarray
    palm_centre_cam_m: np.ndarray
    skin_rgb: np.ndarray


@dataclass
class OccluderSpec:
    """An ellipsoid in front of a hand: centre (camera frame, metres), radii (metres), rotation, RGB."""

    centre_cam_m: np.ndarray
    radii_m: np.ndarray
    rotmat: np.ndarray
    rgb: np.ndarray


@dataclass
class FrameSpec:
    width: int
    height: int
    K_px: np.ndarray
    hands: list[HandSpec]
    light_dir_cam: np.ndarray  # towards the light
    ambient: float
    background_kind: str
    background_seed: int
    occluders: list[OccluderSpec] = field(default_factory=list)


def sample_intrinsics(rng: np.random.Generator, width: int, height: int, cfg: SceneConfig) -> np.ndarray:
    """(3, 3) K: fx from a horizontal FOV uniform in ``cfg.hfov_deg``, fy within 1 %, jittered centre."""
    hfov = np.deg2rad(rng.uniform(*cfg.hfov_deg))
    fx = (width / 2.0) / np.tan(hfov / 2.0)
    fy = fx * rng.uniform(0.99, 1.01)
    cx = (width - 1) / 2.0 + rng.normal(0.0, cfg.principal_jitter) * width
    cy = (height - 1) / 2.0 + rng.normal(0.0, cfg.principal_jitter) * height
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def egocentric_rotation(rng: np.random.Generator, is_right: bool, axes: HandAxes) -> np.ndarray:
    """(3, 3) rotation of the MANO frame into the camera frame: fingers forward/up/inwards, palm mostly
    down (back of the hand seen), sometimes facing inwards or up."""
    inward = -1.0 if is_right else 1.0
    f_cam = _unit(np.array([inward * rng.uniform(-0.2, 0.7), -rng.uniform(0.0, 0.8), rng.uniform(0.5, 1.0)]))
    down = np.array([0.0, 1.0, 0.0])
    down = _unit(down - f_cam * (down @ f_cam))
    side = np.cross(f_cam, down)
    side = side if side[0] * inward > 0 else -side
    r = rng.random()
    roll = rng.uniform(-0.5, 0.8) if r < 0.6 else rng.uniform(0.8, 1.8) if r < 0.9 else rng.uniform(1.8, 3.0)
    n_cam = np.cos(roll) * down + np.sin(roll) * side
    cam = np.stack([f_cam, n_cam, np.cross(f_cam, n_cam)], axis=1)
    rest = np.stack([axes.finger_dir, axes.palm_normal, np.cross(axes.finger_dir, axes.palm_normal)], axis=1)
    return cam @ rest.T


def sample_palm_centre(
    rng: np.random.Generator, is_right: bool, K_px: np.ndarray, width: int, height: int, cfg: SceneConfig
) -> np.ndarray:
    """(3,) palm centre in the camera frame (metres) at a random depth and a lower-half pixel."""
    lo, hi = cfg.u_frac_right
    u_frac = rng.uniform(lo, hi) if is_right else rng.uniform(1.0 - hi, 1.0 - lo)
    u = u_frac * width
    v = rng.uniform(*cfg.v_frac) * height
    z = cfg.depth_m[0] + (cfg.depth_m[1] - cfg.depth_m[0]) * rng.beta(1.3, 2.0)  # nearer hands more likely
    return z * np.linalg.solve(K_px, np.array([u, v, 1.0]))


def sample_hand(
    rng: np.random.Generator, is_right: bool, K_px: np.ndarray, width: int, height: int,
    axes: HandAxes, skin_rgb: np.ndarray, cfg: SceneConfig,
) -> HandSpec:
    articulation, family = sample_articulation(rng)
    betas = np.clip(rng.normal(0.0, cfg.betas_std, size=NUM_BETAS), -cfg.betas_clip, cfg.betas_clip)
    return HandSpec(
        is_right=is_right,
        articulation=articulation,
        family=family,
        betas=betas,
        global_rotmat=egocentric_rotation(rng, is_right, axes),
        palm_centre_cam_m=sample_palm_centre(rng, is_right, K_px, width, height, cfg),
        skin_rgb=np.clip(skin_rgb * rng.uniform(0.95, 1.05, size=3), 0.0, 1.0),
    )


def sample_light(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Direction towards the light (camera frame, from above and the camera side) and ambient level."""
    d = np.array([rng.uniform(-0.6, 0.6), -rng.uniform(0.2, 1.0), -rng.uniform(0.2, 1.0)])
    return _unit(d), float(rng.uniform(0.25, 0.5))


def sample_occluder(rng: np.random.Generator, target_cam_m: np.ndarray) -> OccluderSpec:
    """An ellipsoid on the ray to ``target_cam_m`` (a hand point), 55-85 % of its depth."""
    from scipy.spatial.transform import Rotation

    centre = target_cam_m * rng.uniform(0.55, 0.85) + rng.normal(0.0, 0.01, size=3)
    return OccluderSpec(
        centre_cam_m=centre,
        radii_m=rng.uniform(0.015, 0.05, size=3),
        rotmat=Rotation.random(random_state=int(rng.integers(2**31))).as_matrix(),
        rgb=rng.uniform(0.1, 0.9, size=3),
    )


BACKGROUND_KINDS: tuple[str, ...] = ("gradient", "noise", "stripes", "counter")


def sample_frame(
    rng: np.random.Generator, width: int, height: int, axes: dict[bool, HandAxes],
    cfg: SceneConfig | None = None,
) -> FrameSpec:
    """A random frame: intrinsics, one or both hands (right first), light, background and occluders.

    Occluders are sampled by ``wildhands_synth.generate`` once the hands are posed (they need a hand point).
    """
    cfg = cfg or SceneConfig()
    K = sample_intrinsics(rng, width, height, cfg)
    r = rng.random()
    sides = [True, False] if r < cfg.p_both else [True] if r < (1.0 + cfg.p_both) / 2.0 else [False]
    skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.92, 1.08, size=3)
    hands = [sample_hand(rng, side, K, width, height, axes[side], skin, cfg) for side in sides]
    light, ambient = sample_light(rng)
    return FrameSpec(
        width=width, height=height, K_px=K, hands=hands, light_dir_cam=light, ambient=ambient,
        background_kind=BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))],
        background_seed=int(rng.integers(2**31)),
    )
