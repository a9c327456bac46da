"""One Euro filter (Casiez, Roussel, Vogel, CHI 2012) for arrays, driven by timestamps in nanoseconds.

For each element, with ``dt`` the real time between this sample and the previous one (from the stamps,
never the wall clock)::

    alpha(fc)  = 1 / (1 + tau / dt),   tau = 1 / (2 pi fc)          (exact first-order low-pass step)
    dx         = (x - x_prev) / dt                                   (speed, units of x per second)
    dx_hat     = dx_hat_prev + alpha(d_cutoff) * (dx - dx_hat_prev)
    fc         = min_cutoff + beta * |dx_hat|                        (Hz)
    x_hat      = x_hat_prev + alpha(fc) * (x - x_hat_prev)

``x_prev`` is the previous RAW sample, as in the authors' reference implementation (the difference to the
previous filtered value would add the filter's lag to the speed, several times the true speed at 30 Hz).
Because ``alpha`` comes from the real ``dt``, irregular stamps and dropped frames are handled: a longer
gap gives a larger ``alpha`` (the filter trusts the new sample more). A sample whose stamp is not later
than the previous one (``dt <= 0``: duplicate or backwards stamp) returns the previous output unchanged
and leaves the state untouched.

``|dx_hat|`` is either elementwise (``norm_axis=None``) or the Euclidean norm over one axis
(``norm_axis=-1`` for (N, 3) points: one cutoff per point, independent of the axes' orientation).
Units: ``min_cutoff`` and ``d_cutoff`` in Hz, ``beta`` in Hz per (unit of x per second), e.g. 1/m for
positions in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildhands_core.config import setting
from wildhands_core.stamps import NS_PER_S


def smoothing_factor(dt_s: float | np.ndarray, cutoff_hz: float | np.ndarray) -> np.ndarray:
    """Exponential-smoothing factor of a first-order low-pass with cut-off ``cutoff_hz`` over ``dt_s``."""
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt_s)


@dataclass
class OneEuroParams:
    """Parameters of one One Euro filter: cut-offs in Hz, ``beta`` in Hz per (unit/s) of the signal."""

    min_cutoff: float = setting(1.0, description="minimum cut-off (Hz)", range=(1e-3, 100.0))
    beta: float = setting(0.0, description="cut-off increase per unit/s of speed", range=(0.0, 1e4))
    d_cutoff: float = setting(1.0, description="cut-off of the speed estimate (Hz)", range=(1e-3, 100.0))

    def __post_init__(self) -> None:
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise ValueError(f"One Euro needs min_cutoff > 0, d_cutoff > 0, beta >= 0, got {self}")


class OneEuroFilter:
    """Vectorised One Euro filter over arrays of a fixed shape (float64 state).

    ``filter(x, stamp_ns)`` returns the filtered array (same shape as ``x``); the first sample passes
    through unchanged. ``params`` may be replaced at any time (takes effect on the next sample).
    """

    def __init__(self, params: OneEuroParams | None = None, norm_axis: int | None = None) -> None:
        self.params = params if params is not None else OneEuroParams()
        self.norm_axis = norm_axis
        self.reset()

    def reset(self) -> None:
        """Forget the state; the next sample passes through unchanged."""
        self._x_hat: np.ndarray | None = None
        self._x_prev: np.ndarray | None = None
        self._dx_hat: np.ndarray | None = None
        self._stamp_ns: int | None = None

    @property
    def initialized(self) -> bool:
        return self._x_hat is not None

    @property
    def last_stamp_ns(self) -> int | None:
        return self._stamp_ns

    @property
    def speed(self) -> np.ndarray | None:
        """Filtered derivative (units of x per second), or None before the second sample."""
        return None if self._dx_hat is None else self._dx_hat.copy()

    def filter(self, x: np.ndarray, stamp_ns: int) -> np.ndarray:
        """Filter one sample ``x`` taken at ``stamp_ns`` (int nanoseconds); returns a new array."""
        x = np.asarray(x, dtype=np.float64)
        stamp_ns = int(stamp_ns)
        if self._x_hat is None:
            self._x_hat = x.copy()
            self._x_prev = x.copy()
            self._dx_hat = np.zeros_like(x)
            self._stamp_ns = stamp_ns
            return x.copy()
        if x.shape != self._x_hat.shape:
            raise ValueError(f"shape changed from {self._x_hat.shape} to {x.shape}; call reset() first")
        dt_s = (stamp_ns - self._stamp_ns) / NS_PER_S
        if dt_s <= 0.0:
            return self._x_hat.copy()
        p = self.params
        dx = (x - self._x_prev) / dt_s
        self._dx_hat = self._dx_hat + smoothing_factor(dt_s, p.d_cutoff) * (dx - self._dx_hat)
        if self.norm_axis is None:
            speed = np.abs(self._dx_hat)
        else:
            speed = np.linalg.norm(self._dx_hat, axis=self.norm_axis, keepdims=True)
        alpha = smoothing_factor(dt_s, p.min_cutoff + p.beta * speed)
        self._x_hat = self._x_hat + alpha * (x - self._x_hat)
        self._x_prev = x.copy()
        self._stamp_ns = stamp_ns
        return self._x_hat.copy()

    __call__ = filter
