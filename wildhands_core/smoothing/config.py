"""Smoothing parameters per quantity of a hand estimate (One Euro filters, see ``one_euro.py``).

Units of ``beta``: Hz per unit of the quantity's speed, so joints and translation (metres) use 1/m
(``beta = 20`` adds 2 Hz of cut-off at 0.1 m/s), rotations use Hz per rad/s, betas Hz per (1/s).
The defaults were tuned with ``benchmarks/bench_smoothing.py`` (30 Hz, 4 mm joint noise, 2.5 deg rotation
noise): not a paper hyper-parameter (WildHands estimates single frames and does not smooth).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import partial

from wildhands_core.smoothing.one_euro import OneEuroParams


@dataclass
class SmoothingConfig:
    """One ``OneEuroParams`` per smoothed quantity; ``enabled=False`` passes estimates through."""

    enabled: bool = True
    #: joints_cam_m (21, 3), metres; cut-off from each joint's speed (m/s).
    joints: OneEuroParams = field(default_factory=partial(OneEuroParams, 1.0, 20.0, 1.0))
    #: mano_transl_m (3,), metres; cut-off from the translation's speed (m/s).
    transl: OneEuroParams = field(default_factory=partial(OneEuroParams, 1.0, 20.0, 1.0))
    #: mano_betas (10,): shape changes slowly; elementwise speed.
    betas: OneEuroParams = field(default_factory=partial(OneEuroParams, 0.3, 0.0, 1.0))
    #: global orientation (MANO rotation 0); cut-off from its angular speed (rad/s).
    global_orient: OneEuroParams = field(default_factory=partial(OneEuroParams, 0.5, 8.0, 1.0))
    #: the 15 finger rotations (MANO rotations 1..15); cut-off from each one's angular speed (rad/s).
    finger_rotations: OneEuroParams = field(default_factory=partial(OneEuroParams, 0.5, 8.0, 1.0))

    @classmethod
    def from_dict(cls, d: dict) -> SmoothingConfig:
        """Build from a plain dict (e.g. YAML): ``{"joints": {"min_cutoff": 1.0, ...}, "enabled": true}``."""
        kwargs: dict = {}
        for f in fields(cls):
            if f.name not in d:
                continue
            kwargs[f.name] = OneEuroParams(**d[f.name]) if f.name != "enabled" else bool(d[f.name])
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown smoothing keys {sorted(unknown)}")
        return cls(**kwargs)

    def to_dict(self) -> dict:
        return asdict(self)
