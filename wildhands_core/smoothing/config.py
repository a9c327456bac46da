"""Smoothing parameters per quantity of a hand estimate (One Euro filters, see ``one_euro.py``).

Units of ``beta``: Hz per unit of the quantity's speed, so joints and translation (metres) use 1/m
(``beta = 20`` adds 2 Hz of cut-off at 0.1 m/s), rotations use Hz per rad/s, betas Hz per (1/s).
The defaults were tuned with ``benchmarks/bench_smoothing.py`` (30 Hz, 4 mm joint noise, 2.5 deg rotation
noise): not a paper hyper-parameter (WildHands estimates single frames and does not smooth).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import partial

from wildhands_core.config import dataclass_from_dict, described, setting
from wildhands_core.smoothing.one_euro import OneEuroParams


def _one_euro(min_cutoff: float, beta: float, d_cutoff: float) -> partial[OneEuroParams]:
    """The default factory of one quantity's One Euro parameters."""
    return partial(OneEuroParams, min_cutoff, beta, d_cutoff)


@dataclass
class SmoothingConfig:
    """One ``OneEuroParams`` per smoothed quantity; ``enabled=False`` passes estimates through."""

    enabled: bool = setting(True, description="temporal One Euro smoothing on/off")
    #: joints_cam_m (21, 3), metres; cut-off from each joint's speed (m/s).
    joints: OneEuroParams = field(
        default_factory=_one_euro(1.0, 20.0, 1.0), metadata=described("joints")
    )
    #: mano_transl_m (3,), metres; cut-off from the translation's speed (m/s).
    transl: OneEuroParams = field(
        default_factory=_one_euro(1.0, 20.0, 1.0), metadata=described("transl")
    )
    #: mano_betas (10,): shape changes slowly; elementwise speed.
    betas: OneEuroParams = field(
        default_factory=_one_euro(0.3, 0.0, 1.0), metadata=described("betas")
    )
    #: global orientation (MANO rotation 0); cut-off from its angular speed (rad/s).
    global_orient: OneEuroParams = field(
        default_factory=_one_euro(0.5, 8.0, 1.0), metadata=described("global_orient")
    )
    #: the 15 finger rotations (MANO rotations 1..15); cut-off from each one's angular speed (rad/s).
    finger_rotations: OneEuroParams = field(
        default_factory=_one_euro(0.5, 8.0, 1.0),
        metadata=described("finger_rotations"),
    )

    @classmethod
    def from_dict(cls, d: dict) -> SmoothingConfig:
        """Build from a plain dict (e.g. YAML): ``{"joints": {"min_cutoff": 1.0, ...}, "enabled": true}``."""
        return dataclass_from_dict(cls, d)

    def to_dict(self) -> dict:
        return asdict(self)
