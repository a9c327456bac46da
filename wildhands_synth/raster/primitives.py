"""Small closed meshes (metres) for tests and synthetic occluders: UV spheres/ellipsoids and boxes."""

from __future__ import annotations

import math

import torch


def uv_ellipsoid(
    radii_m: tuple[float, float, float] = (1.0, 1.0, 1.0), n_lat: int = 16, n_lon: int = 24
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed ellipsoid centred at the origin -> (vertices (V, 3) float32, faces (F, 3) long).

    Faces are wound counter-clockwise seen from outside (outward normals by the right-hand rule).
    """
    verts = [[0.0, 0.0, radii_m[2]]]
    for i in range(1, n_lat):
        theta = math.pi * i / n_lat
        for j in range(n_lon):
            phi = 2.0 * math.pi * j / n_lon
            verts.append([
                radii_m[0] * math.sin(theta) * math.cos(phi),
                radii_m[1] * math.sin(theta) * math.sin(phi),
                radii_m[2] * math.cos(theta),
            ])
    verts.append([0.0, 0.0, -radii_m[2]])
    south = len(verts) - 1

    def ring(i: int, j: int) -> int:
        return 1 + (i - 1) * n_lon + (j % n_lon)

    faces = []
    for j in range(n_lon):
        faces.append([0, ring(1, j), ring(1, j + 1)])
        faces.append([south, ring(n_lat - 1, j + 1), ring(n_lat - 1, j)])
    for i in range(1, n_lat - 1):
        for j in range(n_lon):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            faces.append([a, c, d])
            faces.append([a, d, b])
    return torch.tensor(verts, dtype=torch.float32), torch.tensor(faces, dtype=torch.long)


def uv_sphere(radius_m: float = 1.0, n_lat: int = 16, n_lon: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed sphere of ``radius_m`` centred at the origin -> (vertices (V, 3), faces (F, 3))."""
    return uv_ellipsoid((radius_m, radius_m, radius_m), n_lat, n_lon)


def box(size_m: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """Axis-aligned closed box centred at the origin -> (8 vertices, 12 faces wound outward)."""
    sx, sy, sz = (s / 2.0 for s in size_m)
    verts = torch.tensor(
        [[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)], dtype=torch.float32
    )
    # vertex index = 4*(x>0) + 2*(y>0) + (z>0)
    faces = torch.tensor(
        [
            [0, 1, 3], [0, 3, 2],  # x-
            [4, 6, 7], [4, 7, 5],  # x+
            [0, 4, 5], [0, 5, 1],  # y-
            [2, 3, 7], [2, 7, 6],  # y+
            [0, 2, 6], [0, 6, 4],  # z-
            [1, 5, 7], [1, 7, 3],  # z+
        ],
        dtype=torch.long,
    )
    return verts, faces
