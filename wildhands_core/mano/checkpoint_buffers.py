"""The MANO model a released checkpoint was trained with, rebuilt from the smplx buffers it carries.

The authors' Lightning checkpoint holds copies of its smplx ``MANO`` modules' buffers under ``mano_r.*`` /
``mano_l.*`` and ``model.mano_r.mano.*`` / ``model.mano_l.mano.*`` (``shared/reference/README.md``):
``v_template`` (778, 3), ``shapedirs`` (778, 3, 10), ``posedirs`` (135, 2334) (smplx's flattened and
transposed form), ``J_regressor`` (16, 778), ``parents`` (16,), ``lbs_weights`` (778, 16),
``faces_tensor`` (1538, 3), ``hand_mean`` (45,) and more. :func:`mano_data_from_released` turns them back
into the keys of a MANO pickle (``v_template``, ``f``, ``shapedirs``, ``posedirs`` (778, 3, 135),
``J_regressor``, ``kintree_table``, ``weights``, ``hands_mean``, ``hands_components``), which
:class:`wildhands_core.mano.layer.ManoLayer` gives smplx unchanged. Metres, MANO frame, as the files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from wildhands_core.constants import NUM_HAND_POSE, NUM_MANO_JOINTS, NUM_MANO_VERTICES

__all__ = ["RELEASED_MANO_PREFIXES_BY_SIDE", "mano_data_from_released"]

#: Where each side's buffers sit in a released ``state_dict``, the model's own copy first.
RELEASED_MANO_PREFIXES_BY_SIDE: dict[str, tuple[str, ...]] = {
    "right": ("model.mano_r.mano.", "mano_r."),
    "left": ("model.mano_l.mano.", "mano_l."),
}
_NEEDED = ("v_template", "shapedirs", "posedirs", "J_regressor", "parents", "lbs_weights", "faces_tensor",
           "hand_mean")
#: The 15 finger rotations of the pose (45 axis-angle values): the PCA basis is not used (use_pca=False).


def _np(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _side_data(state_dict: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    if not all(prefix + k in state_dict for k in _NEEDED):
        return None
    b = {k: _np(state_dict[prefix + k]) for k in _NEEDED}
    n_vertices = b["v_template"].shape[0]
    if n_vertices != NUM_MANO_VERTICES or b["parents"].shape != (NUM_MANO_JOINTS,):
        return None
    parents = b["parents"].astype(np.int64)
    kintree = np.stack([parents, np.arange(NUM_MANO_JOINTS, dtype=np.int64)])
    # smplx stores posedirs as reshape(V*3, P).T; undo it
    posedirs = b["posedirs"].astype(np.float64).T.reshape(n_vertices, 3, -1)
    return {
        "v_template": b["v_template"].astype(np.float64),
        "f": b["faces_tensor"].astype(np.int64),
        "shapedirs": b["shapedirs"].astype(np.float64),
        "posedirs": posedirs,
        "J_regressor": b["J_regressor"].astype(np.float64),
        "kintree_table": kintree,
        "weights": b["lbs_weights"].astype(np.float64),
        "hands_mean": b["hand_mean"].astype(np.float64).reshape(NUM_HAND_POSE),
        "hands_components": np.eye(NUM_HAND_POSE),  # read by smplx, unused with use_pca=False
    }


def mano_data_from_released(state_dict: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Released ``state_dict`` -> {"right": MANO pickle data, "left": ...}, or None when the file does not
    carry a complete MANO model of both sides."""
    out = {}
    for side, prefixes in RELEASED_MANO_PREFIXES_BY_SIDE.items():
        data = next((d for p in prefixes if (d := _side_data(state_dict, p)) is not None), None)
        if data is None:
            return None
        out[side] = data
    return out
