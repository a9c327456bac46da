"""The procedural hand's model arrays besides the mesh: which digit owns each vertex, skinning weights,
shape directions, pose correctives and the hand-pose mean and components (MANO's arrays, metres and
radians; see :mod:`wildhands_core.mano.procedural`)."""

from __future__ import annotations

import numpy as np

from wildhands_core.constants import MANO_PARENTS, NUM_BETAS, NUM_HAND_POSE, NUM_MANO_JOINTS
from wildhands_core.mano.procedural_mesh import DigitMesh
from wildhands_core.mano.procedural_skeleton import THUMB, Digit, thumb_flex_axis

# Pose correctives: outward bulge (m) per unit of (3 - trace(R)) at a bending joint.
BULGE_M = 0.0015


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


BLEND_HALF_WIDTH = (0.010, 0.006, 0.005)  # m, at the digit's first, second and third joint


def digit_weights(s: float, d: Digit, widths: tuple[float, float, float]) -> np.ndarray:
    """(4,) weights of (wrist-or-parent, joint 1, joint 2, joint 3) at arc length s from the first joint."""
    bounds = (0.0, d.lengths[0], d.lengths[0] + d.lengths[1])
    out = np.zeros(4)
    prev = 1.0
    for k, (bd, w) in enumerate(zip(bounds, widths, strict=True)):
        beyond = float(_smoothstep(np.array((s - bd + w) / (2 * w))))
        out[k] = prev - beyond
        prev = beyond
    out[3] = prev
    return out


def closest_on_chain(p: np.ndarray, chain: np.ndarray) -> tuple[float, float, np.ndarray, int]:
    """Distance to the digit's polyline, arc length of the projection (negative before the first joint),
    the closest axis point and its segment."""
    best = (np.inf, 0.0, chain[0], 0)
    s0 = 0.0
    for seg in range(3):
        a, c = chain[seg], chain[seg + 1]
        length = float(np.linalg.norm(c - a))
        t = float(np.dot(p - a, c - a) / length**2)
        t_clamped = t if seg == 0 and t < 0 else min(max(t, 0.0), 1.0)
        q = a + t_clamped * (c - a)
        dist = float(np.linalg.norm(p - q)) if t >= 0 or seg > 0 else float(np.linalg.norm(p - a))
        if dist < best[0]:
            best = (dist, s0 + t_clamped * length, q, seg)
        s0 += length
    return best


def shape_directions(v: np.ndarray, owner: np.ndarray, s_arc: np.ndarray, axis_pt: np.ndarray,
               seg_of: np.ndarray, all_digits: dict[str, Digit], digits: dict[str, DigitMesh],
               joints: np.ndarray) -> np.ndarray:
    """(778, 3, 10) linear shape directions (metres per unit beta), each a named, size-changing edit:
    0 overall size (+5 % about the wrist), 1 finger length (+6 %), 2 palm width (+6 %), 3 thickness
    (+6 % palm-to-back), 4 palm length (+6 %), 5 thumb length (+8 %), 6 finger girth (+8 %),
    7 index longer / ring shorter (+-5 %), 8 pinky length (+8 %), 9 fingertip pad size (+10 %)."""
    n = len(v)
    sd = np.zeros((n, 3, NUM_BETAS))
    wrist = joints[0]
    sd[:, :, 0] = 0.05 * (v - wrist)
    tangent = np.zeros((n, 3))
    base = np.zeros((n, 3))
    for vid in range(n):
        d = all_digits[owner[vid]]
        tangent[vid] = d.dirs[seg_of[vid]]
        base[vid] = digits[owner[vid]].chain[0]
    s_pos = np.maximum(s_arc, 0.0)
    is_finger = np.array([o != "thumb" for o in owner])
    along = s_pos[:, None] * tangent
    sd[:, :, 1] = 0.06 * along * is_finger[:, None]
    anchor = np.where((s_arc > 0)[:, None], base, v)
    sd[:, 2, 2] = 0.06 * anchor[:, 2]
    sd[:, 1, 3] = 0.06 * (v[:, 1] - axis_pt[:, 1] * (s_arc > 0))
    sd[:, 0, 4] = 0.06 * np.minimum(anchor[:, 0] - wrist[0], 0.0)
    sd[:, :, 5] = 0.08 * along * (~is_finger)[:, None]
    radial = (v - axis_pt) * (s_arc > 0)[:, None]
    sd[:, :, 6] = 0.08 * radial
    sign = np.array([{"index": 1.0, "ring": -1.0}.get(o, 0.0) for o in owner])
    sd[:, :, 7] = 0.05 * along * sign[:, None]
    sd[:, :, 8] = 0.08 * along * np.array([o == "pinky" for o in owner])[:, None]
    pad = np.array([seg_of[i] == 2 and s_arc[i] > 0 for i in range(n)])
    sd[:, :, 9] = 0.10 * radial * pad[:, None]
    return sd


def pose_correctives(v: np.ndarray, weights: np.ndarray, axis_pt: np.ndarray) -> np.ndarray:
    """(778, 3, 135) pose correctives: a vertex shared by a joint and its parent bulges outwards by
    ``BULGE_M * 4 w_parent w_joint * (3 - trace(R_joint))`` (R local; 0 at rest, mirror-symmetric)."""
    n = len(v)
    pd = np.zeros((n, 3, 9 * (NUM_MANO_JOINTS - 1)))
    radial = v - axis_pt
    norm = np.linalg.norm(radial, axis=1, keepdims=True)
    radial = np.where(norm > 1e-9, radial / np.maximum(norm, 1e-9), 0.0)
    for j in range(1, NUM_MANO_JOINTS):
        share = 4.0 * weights[:, MANO_PARENTS[j]] * weights[:, j]
        for diag in (0, 4, 8):
            # pose feature entry (R - I)[a, a] summed over a equals trace(R) - 3 <= 0.
            pd[:, :, 9 * (j - 1) + diag] = -BULGE_M * share[:, None] * radial
    return pd



def mean_hand_pose(all_digits: dict[str, Digit]) -> np.ndarray:
    """(45,) mild natural curl (axis-angle, rad): fingers flex about +z, the thumb towards the palm."""
    mean = np.zeros((NUM_MANO_JOINTS, 3))
    flex = {"index": (0.20, 0.25, 0.15), "middle": (0.25, 0.30, 0.18), "ring": (0.30, 0.32, 0.20),
            "pinky": (0.35, 0.32, 0.20)}
    for name, angles in flex.items():
        for k, a in enumerate(angles):
            mean[all_digits[name].joints[k]] = (0.0, 0.0, a)
    thumb_axis = thumb_flex_axis()
    for k, a in enumerate((0.15, 0.12, 0.20)):
        mean[THUMB.joints[k]] = a * thumb_axis
    return mean[1:].reshape(-1)


def hand_pose_components(all_digits: dict[str, Digit]) -> np.ndarray:
    """(45, 45) orthonormal rows: all-finger curl, thumb flexion, finger spread, index-vs-pinky curl, then
    the completion of the basis by Gram-Schmidt on the unit vectors."""
    def vec(entries: dict[int, np.ndarray]) -> np.ndarray:
        out = np.zeros((NUM_MANO_JOINTS, 3))
        for j, a in entries.items():
            out[j] = a
        return out[1:].reshape(-1)

    z = np.array([0.0, 0.0, 1.0])
    y = np.array([0.0, 1.0, 0.0])
    fingers = ("index", "middle", "ring", "pinky")
    seeds = [
        vec({j: z for f in fingers for j in all_digits[f].joints}),
        vec({j: thumb_flex_axis() for j in THUMB.joints}),
        vec({all_digits["index"].joints[0]: y, all_digits["ring"].joints[0]: -0.5 * y,
             all_digits["pinky"].joints[0]: -y}),
        vec({j: z * s for f, s in (("index", 1.0), ("pinky", -1.0)) for j in all_digits[f].joints}),
    ]
    basis: list[np.ndarray] = []
    for cand in [*seeds, *np.eye(NUM_HAND_POSE)]:
        w = cand.astype(np.float64).copy()
        for _ in range(2):  # re-orthogonalise for accuracy
            for q in basis:
                w = w - np.dot(q, w) * q
        norm = np.linalg.norm(w)
        if norm > 1e-6:
            basis.append(w / norm)
        if len(basis) == NUM_HAND_POSE:
            break
    return np.array(basis)


def vertex_owners(
    v: np.ndarray, digits: dict[str, DigitMesh]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per vertex of (V, 3) ``v``: the digit that owns it (palm vertices: the closest digit), its arc length
    along that digit from the first joint (m), the closest point on the digit's axis and the axis segment."""
    n = len(v)
    owner = np.empty(n, dtype=object)
    s_arc = np.zeros(n)
    axis_pt = np.zeros((n, 3))
    seg_of = np.zeros(n, dtype=np.int64)
    tube = np.zeros(n, dtype=bool)
    for name, dm in digits.items():
        for vid, s in dm.vertex_s.items():
            owner[vid], s_arc[vid], tube[vid] = name, s, True
    thumb_opening = {vid for vid, sv in digits["thumb"].vertex_s.items() if sv == 0.0}
    for vid in range(n):
        if tube[vid] and vid not in thumb_opening:
            _, _, axis_pt[vid], seg_of[vid] = closest_on_chain(v[vid], digits[owner[vid]].chain)
            continue
        best = None
        for name, dm in digits.items():
            dist, s, q, seg = closest_on_chain(v[vid], dm.chain)
            if best is None or dist < best[0]:
                best = (dist, name, s, q, seg)
        assert best is not None
        _, owner[vid], s_arc[vid], axis_pt[vid], seg_of[vid] = best
        if vid in thumb_opening:  # arc length along the thumb metacarpal's axis (about 0)
            owner[vid] = "thumb"
            s_arc[vid] = float(np.dot(v[vid] - digits["thumb"].chain[0], THUMB.dirs[0]))
    return owner, s_arc, axis_pt, seg_of


def skinning_weights(owner: np.ndarray, s_arc: np.ndarray, all_digits: dict[str, Digit]) -> np.ndarray:
    """(V, 16) linear-blend weights: each vertex blends its digit's joints (and the wrist) by arc length."""
    n = len(owner)
    weights = np.zeros((n, NUM_MANO_JOINTS))
    for vid in range(n):
        d = all_digits[owner[vid]]
        w4 = digit_weights(s_arc[vid], d, BLEND_HALF_WIDTH)
        weights[vid, 0] += w4[0]
        for k in range(3):
            weights[vid, d.joints[k]] += w4[k + 1]
    return weights


def joint_regressor(
    n: int, digits: dict[str, DigitMesh], rings: dict[str, np.ndarray], all_digits: dict[str, Digit]
) -> np.ndarray:
    """(16, V) joint regressor: each joint is the mean of the ring placed on it (the wrist: half the wrist
    ring, half the first palm ring)."""
    j_reg = np.zeros((NUM_MANO_JOINTS, n))
    j_reg[0, rings["wrist"]] = 0.5 / len(rings["wrist"])
    j_reg[0, rings["palm0"]] = 0.5 / len(rings["palm0"])
    for name, dm in digits.items():
        for k, ids in enumerate(dm.joint_rings):
            j_reg[all_digits[name].joints[k], ids] = 1.0 / len(ids)
    return j_reg
