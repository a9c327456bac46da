"""Temporal smoothing of hand estimates: One Euro filters on vectors and on SO(3), per-hand smoother."""

from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.smoothing.hand_smoother import HandSmoother
from wildhands_core.smoothing.one_euro import OneEuroFilter, OneEuroParams, smoothing_factor
from wildhands_core.smoothing.so3_one_euro import RotationOneEuroFilter

__all__ = [
    "HandSmoother",
    "OneEuroFilter",
    "OneEuroParams",
    "RotationOneEuroFilter",
    "SmoothingConfig",
    "smoothing_factor",
]
