"""Smooth synthetic two-hand sequences (e.g. a 30 Hz demo stream), deterministic by seed.

A sequence has one camera (intrinsics), background, light, skin tone and pair of hand shapes (betas).
Every ``key_period_s`` seconds a key pose is drawn for each hand (palm centre, orientation,
articulation, as ``scene``), from ``np.random.default_rng([seed, 1, key])`` alone, so any frame can be
rendered without rendering the frames before it. Between keys, palm centres and articulations follow a
Catmull-Rom spline through the keys (continuous velocity), orientations a slerp eased by smoothstep.
Both hands are always in the scene. The grasp label of a frame is the family of its nearest key.
Frame ``i`` has time ``i / fps`` seconds (``stamp_ns`` = round(i * 1e9 / fps)).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from wildhands_core.constants import NUM_BETAS
from wildhands_core.stamps import frame_stamp_ns
from wildhands_synth.background import make_background
from wildhands_synth.generate import SynthFrame, render_scene, torch_threads
from wildhands_synth.hands import HandModel, load_hand_models
from wildhands_synth.poses import clip_articulation, sample_articulation
from wildhands_synth.scene import (
    BACKGROUND_KINDS,
    SKIN_TONES,
    FrameSpec,
    HandSpec,
    SceneConfig,
    egocentric_rotation,
    sample_intrinsics,
    sample_light,
    sample_palm_centre,
)

#: The demo's held-out sequence; training data uses other seeds (models/demo/README.md).
DEMO_SEED = 90_001


@dataclass
class SequenceConfig:
    fps: float = 30.0
    key_period_s: float = 1.5  # seconds between key poses
    scene: SceneConfig = field(default_factory=SceneConfig)


@dataclass
class _Key:
    palm_centre_cam_m: np.ndarray  # (3,)
    rotation: Rotation
    articulation: np.ndarray  # (20,)
    family: int


def _catmull_rom(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray, s: float) -> np.ndarray:
    """Uniform Catmull-Rom between p1 (s = 0) and p2 (s = 1)."""
    return 0.5 * (
        2.0 * p1 + (p2 - p0) * s + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * s**2
        + (3.0 * p1 - p0 - 3.0 * p2 + p3) * s**3
    )


class SyntheticSequence:
    """Frames of one smooth sequence: ``frame(i)`` -> ``SynthFrame`` (image, mask, labels as in
    ``wildhands_synth.generate``), ``frames(n)`` iterates the first n. ``size`` = (W, H).

    ``threads``: torch threads while rendering a frame (restored afterwards; None leaves torch as is).
    """

    def __init__(
        self, seed: int, size: tuple[int, int] = (640, 480), models: dict[bool, HandModel] | None = None,
        mano_dir: str | None = None, config: SequenceConfig | None = None, threads: int | None = None,
    ) -> None:
        self.seed = seed
        self.width, self.height = size
        self.cfg = config or SequenceConfig()
        self.models = models if models is not None else load_hand_models(mano_dir)
        self.threads = threads
        rng = np.random.default_rng([seed, 0])
        self.K_px = sample_intrinsics(rng, self.width, self.height, self.cfg.scene)
        self.light_dir_cam, self.ambient = sample_light(rng)
        self.background_kind = BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
        self.background_seed = int(rng.integers(2**31))
        skin = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))] * rng.uniform(0.92, 1.08, size=3)
        self.skin_rgb = {
            side: np.clip(skin * rng.uniform(0.97, 1.03, size=3), 0, 1) for side in (True, False)
        }
        sc = self.cfg.scene
        self.betas = {
            side: np.clip(rng.normal(0.0, sc.betas_std, size=NUM_BETAS), -sc.betas_clip, sc.betas_clip)
            for side in (True, False)
        }
        self._background = make_background(
            self.background_kind, self.background_seed, self.width, self.height
        )
        self._key = lru_cache(maxsize=16)(self._make_key)

    @property
    def fps(self) -> float:
        return self.cfg.fps

    def stamp_ns(self, index: int) -> int:
        return frame_stamp_ns(index, self.cfg.fps)

    def _make_key(self, key: int) -> dict[bool, _Key]:
        rng = np.random.default_rng([self.seed, 1, key])
        out = {}
        for side in (True, False):
            art, fam = sample_articulation(rng)
            rot = egocentric_rotation(rng, side, self.models[side].axes)
            centre = sample_palm_centre(rng, side, self.K_px, self.width, self.height, self.cfg.scene)
            out[side] = _Key(centre, Rotation.from_matrix(rot), art, fam)
        return out

    def hand_specs(self, index: int) -> list[HandSpec]:
        """The interpolated right and left hands of frame ``index``."""
        t = index / self.cfg.fps / self.cfg.key_period_s
        k = int(np.floor(t))
        s = t - k
        keys = [self._key(max(k + d, 0)) for d in (-1, 0, 1, 2)]
        eased = s * s * (3.0 - 2.0 * s)
        nearest = keys[1] if s < 0.5 else keys[2]
        hands = []
        for side in (True, False):
            kk = [key[side] for key in keys]
            centre = _catmull_rom(*(x.palm_centre_cam_m for x in kk), s)
            art = clip_articulation(_catmull_rom(*(x.articulation for x in kk), s))
            slerp = Slerp([0.0, 1.0], Rotation.concatenate([kk[1].rotation, kk[2].rotation]))
            rot = slerp([eased]).as_matrix()[0]
            family = nearest[side].family
            hands.append(HandSpec(side, art, family, self.betas[side], rot, centre, self.skin_rgb[side]))
        return hands

    def frame(self, index: int) -> SynthFrame:
        """Render frame ``index`` (labels as one frame of ``labels.npz``)."""
        hands = self.hand_specs(index)
        spec = FrameSpec(
            width=self.width, height=self.height, K_px=self.K_px, hands=hands,
            light_dir_cam=self.light_dir_cam, ambient=self.ambient,
            background_kind=self.background_kind, background_seed=self.background_seed,
        )
        with torch_threads(self.threads):
            posed = [
                self.models[h.is_right].pose(h.articulation[None], h.global_rotmat[None], h.betas[None],
                                             h.palm_centre_cam_m[None])
                for h in hands
            ]
            return render_scene(spec, posed, self.models, np.random.default_rng([self.seed, 2, index]),
                                background=self._background)

    def frames(self, count: int, start: int = 0) -> Iterator[SynthFrame]:
        for i in range(start, start + count):
            yield self.frame(i)
