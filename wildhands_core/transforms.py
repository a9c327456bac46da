"""A ROS-free transform tree over time (what tf2's buffer does for a recorded /tf + /tf_static), and rigid
transforms of hand quantities into another frame.

    buf = TransformBuffer()
    buf.add("world", "cam_optical", stamp_ns, t_m, q_xyzw)            # /tf: parent -> child, time series
    buf.add("base", "world", 0, t_m, q_xyzw, static=True)             # /tf_static
    R, t = buf.lookup("base", "cam_optical", stamp_ns)               # p_base = R p_cam + t

Conventions are tf2's: an edge (parent, child) at time s is the pose of ``child`` in ``parent`` (it maps
child coordinates into parent coordinates); ``lookup(target, source, s)`` maps ``source`` coordinates into
``target`` coordinates, chained through the tree at the same time ``s``. Between two samples of a dynamic
edge, translation is interpolated linearly and rotation by slerp (tf2's ``lookupTransform``); outside an
edge's recorded time range it is not extrapolated: :class:`TransformError` ``extrapolation``, unless within
``max_extrapolation_s`` of the end sample (then that sample). Samples further apart than ``max_gap_s``
are not interpolated across: ``stale``. With ``cache_s`` (a live buffer, tf2's cache time) samples older
than the newest of their edge by more than that are dropped. Other reasons: ``unknown_frame`` (never
seen), ``not_connected`` (no common ancestor). Nothing falls back to identity.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.constants import NUM_JOINTS
from wildhands_core.rotations import rotmat_to_axis_angle_release_numpy
from wildhands_core.stamps import ns_to_seconds, seconds_to_ns

TRANSFORM_ERROR_REASONS = ("unknown_frame", "not_connected", "extrapolation", "stale")


class TransformError(LookupError):
    """No transform: ``reason`` is one of :data:`TRANSFORM_ERROR_REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class _Edge:
    parent: str
    static: bool
    stamps_ns: list[int] = field(default_factory=list)
    t_m: list[np.ndarray] = field(default_factory=list)
    q_xyzw: list[np.ndarray] = field(default_factory=list)


def _check_tq(t_m, q_xyzw) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t_m, np.float64).reshape(3)
    q = np.asarray(q_xyzw, np.float64).reshape(4)
    n = np.linalg.norm(q)
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q)) and n > 1e-9):
        raise ValueError(f"transform must be finite with a non-zero quaternion, got t={t}, q={q}")
    return t, q / n


class TransformBuffer:
    """Edges parent -> child, static or sampled over time (ns); see the module docstring."""

    def __init__(self, max_extrapolation_s: float = 0.0, max_gap_s: float | None = 1.0,
                 cache_s: float | None = None) -> None:
        self.max_extrapolation_ns = seconds_to_ns(max_extrapolation_s)
        self.max_gap_ns = None if max_gap_s is None else seconds_to_ns(max_gap_s)
        self.cache_ns = None if cache_s is None else seconds_to_ns(cache_s)
        self._edges: dict[str, _Edge] = {}  # child -> edge from its parent

    @property
    def frames(self) -> set[str]:
        return set(self._edges) | {e.parent for e in self._edges.values()}

    def add(self, parent: str, child: str, stamp_ns: int, t_m, q_xyzw, static: bool = False) -> None:
        """The pose of ``child`` in ``parent`` at ``stamp_ns`` (metres, unit quaternion x, y, z, w). A static
        edge keeps its latest value; a child re-parented replaces its edge (tf2 keeps one parent too)."""
        if not parent or not child or parent == child:
            raise ValueError(f"bad transform edge {parent!r} -> {child!r}")
        t, q = _check_tq(t_m, q_xyzw)
        e = self._edges.get(child)
        if e is None or e.parent != parent or e.static != static:
            e = self._edges[child] = _Edge(parent, static)
        if static:
            e.stamps_ns, e.t_m, e.q_xyzw = [int(stamp_ns)], [t], [q]
            return
        i = bisect.bisect_left(e.stamps_ns, int(stamp_ns))
        if i < len(e.stamps_ns) and e.stamps_ns[i] == int(stamp_ns):
            e.t_m[i], e.q_xyzw[i] = t, q
        else:
            e.stamps_ns.insert(i, int(stamp_ns))
            e.t_m.insert(i, t)
            e.q_xyzw.insert(i, q)
        if self.cache_ns is not None:
            k = bisect.bisect_left(e.stamps_ns, e.stamps_ns[-1] - self.cache_ns)
            if k:
                del e.stamps_ns[:k], e.t_m[:k], e.q_xyzw[:k]

    def _edge_at(self, child: str, stamp_ns: int) -> tuple[Rotation, np.ndarray]:
        e = self._edges[child]
        if e.static:
            return Rotation.from_quat(e.q_xyzw[0]), e.t_m[0]
        s = e.stamps_ns
        i = bisect.bisect_left(s, stamp_ns)
        if i < len(s) and s[i] == stamp_ns:
            return Rotation.from_quat(e.q_xyzw[i]), e.t_m[i]
        if i == 0 or i == len(s):
            end = 0 if i == 0 else len(s) - 1
            if abs(s[end] - stamp_ns) <= self.max_extrapolation_ns:
                return Rotation.from_quat(e.q_xyzw[end]), e.t_m[end]
            raise TransformError("extrapolation", f"{e.parent} -> {child}: time {stamp_ns} ns is outside the "
                                 f"recorded [{s[0]}, {s[-1]}] ns")
        a, b = i - 1, i
        if self.max_gap_ns is not None and s[b] - s[a] > self.max_gap_ns:
            raise TransformError("stale", f"{e.parent} -> {child}: samples around {stamp_ns} ns are "
                                 f"{ns_to_seconds(s[b] - s[a]):.3f} s apart "
                                 f"(> {ns_to_seconds(self.max_gap_ns):.3f} s)")
        w = (stamp_ns - s[a]) / (s[b] - s[a])
        t = (1.0 - w) * e.t_m[a] + w * e.t_m[b]
        q = _slerp(e.q_xyzw[a], e.q_xyzw[b], w)
        return q, t

    def _chain(self, frame: str) -> list[str]:
        out = [frame]
        while out[-1] in self._edges:
            out.append(self._edges[out[-1]].parent)
            if len(out) > len(self._edges) + 1:
                raise TransformError("not_connected", f"transform loop through {frame!r}")
        return out

    def _to_ancestor(self, chain: list[str], stamp_ns: int) -> tuple[Rotation, np.ndarray]:
        """Pose of chain[0] in chain[-1] (p_anc = R p + t)."""
        R, t = Rotation.identity(), np.zeros(3)
        for child in chain[:-1]:
            Re, te = self._edge_at(child, stamp_ns)
            R, t = Re * R, Re.apply(t) + te
        return R, t

    def lookup(self, target: str, source: str, stamp_ns: int) -> tuple[Rotation, np.ndarray]:
        """(R, t) with p_target = R.apply(p_source) + t at ``stamp_ns``; :class:`TransformError` if none."""
        for f in (target, source):
            if f not in self.frames:
                raise TransformError("unknown_frame", f"frame {f!r} is not in the transform tree")
        if target == source:
            return Rotation.identity(), np.zeros(3)
        ct, cs = self._chain(target), self._chain(source)
        common = next((f for f in cs if f in set(ct)), None)
        if common is None:
            raise TransformError("not_connected", f"{source!r} and {target!r} have no common ancestor")
        Rs, ts = self._to_ancestor(cs[: cs.index(common) + 1], int(stamp_ns))
        Rt, tt = self._to_ancestor(ct[: ct.index(common) + 1], int(stamp_ns))
        Rti = Rt.inv()
        return Rti * Rs, Rti.apply(ts - tt)


def _slerp(q0: np.ndarray, q1: np.ndarray, w: float) -> Rotation:
    from scipy.spatial.transform import Slerp

    return Slerp([0.0, 1.0], Rotation.from_quat([q0, q1]))([w])[0]


@dataclass(frozen=True)
class HandInFrame:
    """One hand's frame-dependent quantities re-expressed in another frame (metres, radians)."""

    joints_m: np.ndarray          # (21, 3)
    wrist_position_m: np.ndarray  # (3,)
    wrist_quat_xyzw: np.ndarray   # (4,)
    global_orient_aa: np.ndarray  # (3,) MANO global orientation in the new frame, release convention
    mano_translation_m: np.ndarray  # (3,) so that joints = MANO(global_orient_aa, pose, betas) + this


def hand_in_frame(R: Rotation, t_m: np.ndarray, joints_m: np.ndarray, wrist_quat_xyzw: np.ndarray,
                  global_orient_aa: np.ndarray, mano_translation_m: np.ndarray) -> HandInFrame:
    """Hand quantities of the source frame -> the frame where p_new = R p + t. MANO rotates the hand about
    its rest wrist joint J0 (= joints[0] - mano_translation), so the new translation is new wrist - J0.
    The new global orientation is in the release convention (``rotations.rotmat_to_axis_angle_release``, as
    the node publishes ``global_orient_aa``)."""
    j = np.asarray(joints_m, np.float64).reshape(NUM_JOINTS, 3)
    j_new = R.apply(j) + np.asarray(t_m, np.float64)
    rest_wrist = j[0] - np.asarray(mano_translation_m, np.float64).reshape(3)
    go = R * Rotation.from_rotvec(np.asarray(global_orient_aa, np.float64).reshape(3))
    q = (R * Rotation.from_quat(np.asarray(wrist_quat_xyzw, np.float64).reshape(4))).as_quat(canonical=True)
    go_aa = rotmat_to_axis_angle_release_numpy(go.as_matrix())
    return HandInFrame(j_new, j_new[0].copy(), q, go_aa, j_new[0] - rest_wrist)


__all__ = ["TRANSFORM_ERROR_REASONS", "HandInFrame", "TransformBuffer", "TransformError", "hand_in_frame"]
