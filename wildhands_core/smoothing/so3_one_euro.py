"""One Euro filter on SO(3) for arrays of N rotations, driven by timestamps in nanoseconds.

The filter never averages rotation parameters (axis-angle, Euler, quaternion components). With
``R_hat`` the previous filtered rotation and ``R`` the new measurement (per rotation)::

    delta     = log(R_hat^-1 R)                     (3,) rotation vector in R_hat's frame, |delta| <= pi
    omega     = log(R_prev^-1 R) / dt               angular velocity (rad/s) from the previous RAW sample
    omega_hat = omega_hat_prev + alpha(d_cutoff) * (omega - omega_hat_prev)
    fc        = min_cutoff + beta * |omega_hat|     (Hz; beta in Hz per rad/s)
    R_hat_new = R_hat exp(alpha(fc) * delta)        (geodesic step of fraction alpha towards R)

``alpha`` is the first-order low-pass factor of ``one_euro.smoothing_factor`` for the real ``dt``.
The log map returns the shortest rotation, so q and -q (the same rotation) give the same ``delta`` and
an angle crossing +-pi in axis-angle form is just a small step on SO(3). Outputs are products of
rotations built by ``scipy.spatial.transform.Rotation``, so they are always valid rotations
(orthonormal, det +1). ``filter_quat`` additionally keeps each output quaternion in the hemisphere of the
previous output (q . q_prev >= 0), so the quaternion stream itself is continuous.
``dt <= 0`` (duplicate/backwards stamp) returns the previous output and leaves the state untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.smoothing.one_euro import OneEuroParams, smoothing_factor
from wildhands_core.stamps import NS_PER_S


class RotationOneEuroFilter:
    """One Euro filter for N rotations (a scipy ``Rotation`` holding N rotations, or a single one).

    ``params``: one :class:`OneEuroParams` for every rotation, or a sequence of N (one per rotation, so
    rotations with different parameters are filtered in one pass). It may be replaced at any time.
    """

    def __init__(self, params: OneEuroParams | Sequence[OneEuroParams] | None = None) -> None:
        self.params = params if params is not None else OneEuroParams()
        self.reset()

    def _per_rotation(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(min_cutoff, beta, d_cutoff), each (n,) or scalar."""
        p = self.params
        if isinstance(p, OneEuroParams):
            return np.float64(p.min_cutoff), np.float64(p.beta), np.float64(p.d_cutoff)
        if len(p) != n:
            raise ValueError(f"{len(p)} parameter sets for {n} rotations")
        fields = ("min_cutoff", "beta", "d_cutoff")
        return tuple(np.array([getattr(q, k) for q in p], np.float64) for k in fields)

    def reset(self) -> None:
        """Forget the state; the next sample passes through unchanged."""
        self._r_hat: Rotation | None = None
        self._r_prev: Rotation | None = None
        self._omega_hat: np.ndarray | None = None
        self._stamp_ns: int | None = None
        self._quat_prev: np.ndarray | None = None

    @property
    def initialized(self) -> bool:
        return self._r_hat is not None

    @property
    def angular_speed(self) -> np.ndarray | None:
        """(N,) filtered angular speed in rad/s, or None before the first sample."""
        return None if self._omega_hat is None else np.linalg.norm(self._omega_hat, axis=-1)

    def filter(self, rotations: Rotation, stamp_ns: int) -> Rotation:
        """Filter one sample of rotations taken at ``stamp_ns`` (int ns); returns a new ``Rotation``."""
        single = rotations.single
        rot = Rotation.concatenate([rotations]) if single else rotations
        stamp_ns = int(stamp_ns)
        min_cutoff, beta, d_cutoff = self._per_rotation(len(rot))
        if self._r_hat is None:
            self._r_hat = rot
            self._r_prev = rot
            self._omega_hat = np.zeros((len(rot), 3))
            self._stamp_ns = stamp_ns
            return self._output(single)
        if len(rot) != len(self._r_hat):
            raise ValueError(f"number of rotations changed from {len(self._r_hat)} to {len(rot)}")
        dt_s = (stamp_ns - self._stamp_ns) / NS_PER_S
        if dt_s <= 0.0:
            return self._output(single)
        delta = (self._r_hat.inv() * rot).as_rotvec()  # (N, 3), angle in [0, pi]
        omega = (self._r_prev.inv() * rot).as_rotvec() / dt_s
        a_d = np.reshape(smoothing_factor(dt_s, d_cutoff), (-1, 1))
        self._omega_hat = self._omega_hat + a_d * (omega - self._omega_hat)
        cutoff = min_cutoff + beta * np.linalg.norm(self._omega_hat, axis=-1)
        alpha = smoothing_factor(dt_s, cutoff)
        self._r_hat = self._r_hat * Rotation.from_rotvec(alpha[:, None] * delta)
        self._r_prev = rot
        self._stamp_ns = stamp_ns
        return self._output(single)

    __call__ = filter

    def _output(self, single: bool) -> Rotation:
        out = Rotation.from_quat(self._r_hat.as_quat())  # a copy (a Rotation can be assigned to in place)
        return out[0] if single else out

    def filter_matrix(self, rotmat: np.ndarray, stamp_ns: int) -> np.ndarray:
        """(N, 3, 3) or (3, 3) rotation matrices in, the same shape out (valid rotations)."""
        return self.filter(Rotation.from_matrix(rotmat), stamp_ns).as_matrix()

    def filter_rotvec(self, rot_aa: np.ndarray, stamp_ns: int) -> np.ndarray:
        """(N, 3) or (3,) axis-angle (radians) in, the same shape out (angle in [0, pi])."""
        return self.filter(Rotation.from_rotvec(rot_aa), stamp_ns).as_rotvec()

    def filter_quat(self, quat_xyzw: np.ndarray, stamp_ns: int) -> np.ndarray:
        """(N, 4) or (4,) quaternions (x, y, z, w; either sign) in, unit quaternions out.

        Each output quaternion is in the hemisphere of the previous output (``q . q_prev >= 0``); the
        first output has ``w >= 0``.
        """
        q = self.filter(Rotation.from_quat(quat_xyzw), stamp_ns).as_quat(canonical=True)
        q2 = np.atleast_2d(q)
        if self._quat_prev is not None and self._quat_prev.shape == q2.shape:
            flip = np.sum(q2 * self._quat_prev, axis=-1) < 0.0
            q2 = np.where(flip[:, None], -q2, q2)
        self._quat_prev = q2.copy()
        return q2.reshape(q.shape)
