"""The procedural hand's mesh: wrist ring, palm rings, knuckle ring, finger and thumb tubes (778 vertices,
1538 faces before renumbering), and the consistent outward winding (see :mod:`wildhands_core.mano.procedural`
for the topology). Metres, the right hand's rest frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wildhands_core.mano.procedural_skeleton import FINGERS, THUMB, WRIST, Digit, chain_points, taper

_PALM_RING = 32
_WRIST_RING = 16
_HOLE_QUADS = (14, 15, 16, 17)  # palm quads (ring 0 to ring 1) removed for the thumb opening


def _superellipse(alpha: np.ndarray, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(alpha), np.sin(alpha)
    p = 2.0 / exponent
    return np.sign(c) * np.abs(c) ** p, np.sign(s) * np.abs(s) ** p


def _ring_params(n: int) -> np.ndarray:
    """Ring parameter u in [0, 1): vertex k at angle alpha = pi - 2 pi u, i.e. starting top-left (-side,
    +up), running over the top towards +side, then back along the bottom."""
    return (np.arange(n) + 0.5) / n


def _ring(center: np.ndarray, side: np.ndarray, up: np.ndarray, half_w: float, half_h: float, n: int,
          exponent: float = 2.0) -> np.ndarray:
    alpha = np.pi - 2.0 * np.pi * _ring_params(n)
    cs, sn = _superellipse(alpha, exponent)
    return center + (half_w * cs)[:, None] * side + (half_h * sn)[:, None] * up


def _frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(side, up) for a tube along ``direction``: up = +y made orthogonal, side = up x direction (~ +z
    for a finger along -x)."""
    d = direction / np.linalg.norm(direction)
    up = np.array([0.0, 1.0, 0.0]) - d[1] * d
    up /= np.linalg.norm(up)
    side = np.cross(up, d)
    return side, up


class MeshBuilder:
    def __init__(self) -> None:
        self.points: list[np.ndarray] = []
        self.group: list[str] = []  # 'palm' or a digit name: used for the vertex numbering
        self.faces: list[tuple[int, int, int]] = []

    def add(self, pts: np.ndarray, group: str) -> np.ndarray:
        start = len(self.points)
        for p in np.atleast_2d(pts):
            self.points.append(np.asarray(p, dtype=np.float64))
            self.group.append(group)
        return np.arange(start, len(self.points))

    def quad_strip(self, a: np.ndarray, b: np.ndarray, skip: tuple[int, ...] = ()) -> None:
        n = len(a)
        for k in range(n):
            if k in skip:
                continue
            k1 = (k + 1) % n
            self.faces.append((int(a[k]), int(b[k1]), int(b[k])))
            self.faces.append((int(a[k]), int(a[k1]), int(b[k1])))

    def stitch(self, a: np.ndarray, ua: np.ndarray, b: np.ndarray, ub: np.ndarray) -> None:
        """Zipper triangulation between two closed loops with ascending parameters in [0, 1)."""
        na, nb = len(a), len(b)
        i = j = 0
        while i < na or j < nb:
            a_next = ua[(i + 1) % na] + (1.0 if i + 1 >= na else 0.0)
            b_next = ub[(j + 1) % nb] + (1.0 if j + 1 >= nb else 0.0)
            if i < na and (j >= nb or a_next < b_next):
                self.faces.append((int(a[i % na]), int(a[(i + 1) % na]), int(b[j % nb])))
                i += 1
            else:
                self.faces.append((int(a[i % na]), int(b[(j + 1) % nb]), int(b[j % nb])))
                j += 1

    def fan(self, ring: np.ndarray, apex: int) -> None:
        n = len(ring)
        for k in range(n):
            self.faces.append((int(ring[k]), int(ring[(k + 1) % n]), apex))


@dataclass
class DigitMesh:
    chain: np.ndarray  # (4, 3) joints + tip
    joint_rings: tuple[np.ndarray, np.ndarray, np.ndarray]  # vertex ids whose mean is each joint
    vertex_s: dict[int, float]  # arc length from the first joint (m) of the digit's tube vertices
    apex: int


def _grow_digit(b: MeshBuilder, d: Digit, base_loop: np.ndarray, base_u: np.ndarray, base: np.ndarray,
                first_ring: np.ndarray) -> DigitMesh:
    chain = chain_points(d, base)
    vertex_s: dict[int, float] = {int(v): 0.0 for v in base_loop}
    prev, prev_u = base_loop, base_u
    joint_rings: list[np.ndarray] = [first_ring]
    ring_no = 0
    for seg in range(3):
        for frac in d.ring_fracs[seg]:
            n = d.ring_sizes[ring_no]
            ring_no += 1
            direction = np.asarray(d.dirs[seg])
            if frac == 1.0 and seg < 2:  # ring at a joint: plane normal = bisector of the two segments
                direction = direction + np.asarray(d.dirs[seg + 1])
            side, up = _frame(direction)
            center = chain[seg] + frac * (chain[seg + 1] - chain[seg])
            hw, hh = taper(d, seg, frac)
            ids = b.add(_ring(center, side, up, hw, hh, n), d.name)
            s = sum(d.lengths[:seg]) + frac * d.lengths[seg]
            vertex_s.update({int(v): s for v in ids})
            u = _ring_params(n)
            if n == len(prev) and np.allclose(u, prev_u):
                b.quad_strip(prev, ids)
            else:
                b.stitch(prev, prev_u, ids, u)
            if frac == 1.0 and seg < 2:
                joint_rings.append(ids)
            prev, prev_u = ids, u
    apex = int(b.add(chain[3], d.name)[0])
    vertex_s[apex] = float(sum(d.lengths))
    b.fan(prev, apex)
    return DigitMesh(chain, (joint_rings[0], joint_rings[1], joint_rings[2]), vertex_s, apex)


def _loop_params(points: np.ndarray, center: np.ndarray, direction: np.ndarray) -> np.ndarray:
    side, up = _frame(direction)
    r = points - center
    alpha = np.arctan2(r @ up, r @ side)
    return np.mod((np.pi - alpha) / (2.0 * np.pi), 1.0)


def build_right_geometry() -> tuple[MeshBuilder, dict[str, DigitMesh], dict[str, np.ndarray]]:
    b = MeshBuilder()
    # Wrist ring (open boundary) and the palm.
    z_axis, y_axis = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    wrist_ring = b.add(_ring(WRIST + np.array([0.006, 0.0, 0.0]), z_axis, y_axis, 0.029, 0.0165, _WRIST_RING,
                             2.4), "palm")
    # Knuckle ring: the four finger base loops (8 vertices each) laid out along the knuckle line.
    knuckle = np.zeros((_PALM_RING, 3))
    finger_bases: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, d in enumerate(FINGERS):
        side, up = _frame(np.asarray(d.dirs[0]))
        loop = _ring(np.asarray(d.base), side, up, d.half_width, 0.0115, 8, 2.6)
        cols = 4 * i + np.arange(4)
        knuckle[cols] = loop[:4]  # top row, -z to +z
        knuckle[_PALM_RING - 1 - cols] = loop[4:][::-1]  # bottom row, stored +z to -z
    s0 = _ring(np.array([0.084, 0.0, 0.0]), np.array([0, 0, 1.0]), np.array([0, 1.0, 0]),
               0.0315, 0.0155, _PALM_RING, 3.0)
    pre = knuckle.copy()
    pre[:, 0] += 0.017
    pre[:, 1] *= 1.2
    palm_rings = []
    for t in (0.0, 0.3, 0.55, 0.78, 1.0):
        palm_rings.append(b.add((1 - t) * s0 + t * pre, "palm"))
    knuckle_ids = b.add(knuckle, "palm")
    b.stitch(wrist_ring, _ring_params(_WRIST_RING), palm_rings[0], _ring_params(_PALM_RING))
    b.quad_strip(palm_rings[0], palm_rings[1], skip=_HOLE_QUADS)
    for r in range(1, 4):
        b.quad_strip(palm_rings[r], palm_rings[r + 1])
    b.quad_strip(palm_rings[4], knuckle_ids)
    # Interdigital web quads between neighbouring fingers.
    top = knuckle_ids[:_PALM_RING // 2]
    bottom = knuckle_ids[::-1][:_PALM_RING // 2]  # bottom[c] lies under top[c]
    for i in range(3):
        c = 4 * i + 3
        b.faces.append((int(top[c]), int(top[c + 1]), int(bottom[c + 1])))
        b.faces.append((int(top[c]), int(bottom[c + 1]), int(bottom[c])))
    for i, d in enumerate(FINGERS):
        cols = 4 * i + np.arange(4)
        finger_bases[d.name] = (np.concatenate([top[cols], bottom[cols][::-1]]), _ring_params(8))
    digits: dict[str, DigitMesh] = {}
    for d in FINGERS:
        loop, u = finger_bases[d.name]
        digits[d.name] = _grow_digit(b, d, loop, u, np.asarray(d.base), loop)
    # Thumb opening: boundary of the removed palm quads, ring 0 then ring 1 backwards.
    k0, k1 = _HOLE_QUADS[0], _HOLE_QUADS[-1] + 1
    hole = np.concatenate([palm_rings[0][k0:k1 + 1], palm_rings[1][k0:k1 + 1][::-1]])
    pts = np.array(b.points)
    thumb_base = pts[hole].mean(axis=0)
    hole_u = _loop_params(pts[hole], thumb_base, np.asarray(THUMB.dirs[0]))
    order = np.argsort(hole_u, kind="stable")
    rolled = [np.roll(np.arange(len(hole)), -s) for s in range(len(hole))]
    assert any(np.array_equal(order, r) or np.array_equal(order, r[::-1]) for r in rolled), "thumb loop"
    digits["thumb"] = _grow_digit(b, THUMB, hole[order], hole_u[order], thumb_base, hole)
    rings = {"wrist": wrist_ring, "palm0": palm_rings[0]}
    return b, digits, rings


def orient_consistently(faces: np.ndarray) -> np.ndarray:
    """Flips faces so that every interior edge is traversed in opposite directions by its two faces."""
    faces = faces.copy()
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for fi, f in enumerate(faces):
        for a, c in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            edge_faces.setdefault((min(a, c), max(a, c)), []).append(fi)
    done = np.zeros(len(faces), dtype=bool)
    for seed in range(len(faces)):
        if done[seed]:
            continue
        done[seed] = True
        stack = [seed]
        while stack:
            fi = stack.pop()
            f = faces[fi]
            for a, c in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
                for gi in edge_faces[(min(a, c), max(a, c))]:
                    if gi == fi or done[gi]:
                        continue
                    g = list(faces[gi])
                    same_dir = any((g[k], g[(k + 1) % 3]) == (a, c) for k in range(3))
                    if same_dir:
                        faces[gi] = faces[gi][::-1]
                    done[gi] = True
                    stack.append(gi)
    return faces


def signed_volume(v: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)
