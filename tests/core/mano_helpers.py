"""Mesh checks shared by the MANO tests (edges, self-intersection), plain numpy."""

from __future__ import annotations

from collections import Counter

import numpy as np


def edge_counts(faces: np.ndarray) -> Counter:
    """Number of faces using each undirected edge."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return Counter(map(tuple, np.sort(edges, axis=1).tolist()))


def directed_edge_counts(faces: np.ndarray) -> Counter:
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return Counter(map(tuple, edges.tolist()))


def signed_volume(v: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def self_intersections(v: np.ndarray, faces: np.ndarray) -> int:
    """Number of (edge, face) pairs where an edge of one triangle crosses another triangle that shares no
    vertex with it (Moller-Trumbore on bounding-box candidates). 0 for a mesh without self-intersection."""
    tri = v[faces]
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    overlap = np.all((lo[:, None, :] <= hi[None, :, :]) & (lo[None, :, :] <= hi[:, None, :]), axis=2)
    shares = (faces[:, None, :, None] == faces[None, :, None, :]).any(axis=(2, 3))
    fi, fj = np.nonzero(overlap & ~shares)
    hits = 0
    for e0, e1 in ((0, 1), (1, 2), (2, 0)):
        p0, p1 = tri[fi, e0], tri[fi, e1]
        a, b, c = tri[fj, 0], tri[fj, 1], tri[fj, 2]
        d = p1 - p0
        e1v, e2v = b - a, c - a
        h = np.cross(d, e2v)
        det = np.einsum("ij,ij->i", e1v, h)
        ok = np.abs(det) > 1e-15
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = p0 - a
        u = inv * np.einsum("ij,ij->i", s, h)
        q = np.cross(s, e1v)
        w = inv * np.einsum("ij,ij->i", d, q)
        t = inv * np.einsum("ij,ij->i", e2v, q)
        hits += int(np.sum(ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t >= 0) & (t <= 1)))
    return hits
