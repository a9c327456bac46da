"""Face x pixel candidate pairs from the pixel bounding box of each projected face (shared by both
rasterisers): the work is proportional to the summed box areas, not to faces x image pixels."""

from __future__ import annotations

from collections.abc import Iterator

import torch


def face_pixel_boxes(
    tri_px: torch.Tensor, image_size: tuple[int, int], margin_px: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(F, 3, 2) triangle corners in pixels -> integer boxes (x0, y0, width, height), clipped to the image.

    The box holds every pixel centre within ``margin_px`` of the triangle's bounding box; width or height
    is 0 when no pixel centre does.
    """
    height, width = image_size
    lo = tri_px.detach().amin(dim=1) - margin_px
    hi = tri_px.detach().amax(dim=1) + margin_px
    lo = torch.nan_to_num(lo, nan=1e9, posinf=1e9, neginf=-1e9).clamp(-1e7, 1e7)
    hi = torch.nan_to_num(hi, nan=-1e9, posinf=1e9, neginf=-1e9).clamp(-1e7, 1e7)
    x0 = torch.ceil(lo[:, 0]).clamp(min=0).long()
    y0 = torch.ceil(lo[:, 1]).clamp(min=0).long()
    x1 = torch.floor(hi[:, 0]).clamp(max=width - 1).long()
    y1 = torch.floor(hi[:, 1]).clamp(max=height - 1).long()
    return x0, y0, (x1 - x0 + 1).clamp(min=0), (y1 - y0 + 1).clamp(min=0)


def iter_face_pixel_pairs(
    face_ids: torch.Tensor,
    x0: torch.Tensor,
    y0: torch.Tensor,
    box_w: torch.Tensor,
    box_h: torch.Tensor,
    max_pairs: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield chunks (face id (P,), pixel x (P,), pixel y (P,)) covering every pixel of every face box.

    Faces are taken in order and grouped so that a chunk holds at most ``max_pairs`` pairs (a single
    face larger than that is one chunk on its own).
    """
    area = box_w * box_h
    keep = area > 0
    face_ids, x0, y0, box_w, area = face_ids[keep], x0[keep], y0[keep], box_w[keep], area[keep]
    if face_ids.numel() == 0:
        return
    ends = torch.cumsum(area, 0)
    start_face = 0
    n_faces = face_ids.numel()
    while start_face < n_faces:
        base = ends[start_face - 1] if start_face > 0 else ends.new_zeros(())
        stop_face = int(torch.searchsorted(ends, base + max_pairs, right=True))
        stop_face = max(stop_face, start_face + 1)
        sl = slice(start_face, stop_face)
        counts = area[sl]
        local_face = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
        offsets = torch.cumsum(counts, 0) - counts
        k = torch.arange(int(counts.sum()), device=counts.device) - offsets[local_face]
        w = box_w[sl][local_face]
        yield face_ids[sl][local_face], x0[sl][local_face] + k % w, y0[sl][local_face] + k // w
        start_face = stop_face
