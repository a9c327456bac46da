"""MANO as a torch layer: a thin wrapper around ``smplx.MANO`` (smplx does all blend shapes and skinning).

Model files are looked up in this order:

1. the ``mano_dir`` argument,
2. the environment variable ``WILDHANDS_MANO_DIR``,
3. the MANO model a released checkpoint carries (``checkpoint_mano`` of :func:`load_mano_pair`, from
   :mod:`wildhands_core.mano.checkpoint_buffers`), when there is one,
4. the procedural stand-in (:mod:`wildhands_core.mano.procedural`), generated once into
   ``$XDG_CACHE_HOME/wildhands/mano_procedural_v<N>/`` (``~/.cache/...`` when XDG_CACHE_HOME is unset).

A directory must hold ``MANO_RIGHT.pkl`` and ``MANO_LEFT.pkl`` (flat, or in its ``mano/`` subfolder as smplx
lays out its model folder): the licensed files as downloaded (they are read without chumpy, see
:mod:`wildhands_core.mano.convert`) or converted ones, or procedural ones.

Units and frames: metres, MANO's own frame, no translation. Poses follow smplx with ``use_pca=False`` and
``flat_hand_mean=False``: the 15 finger rotations are relative to the model's ``hands_mean``, which smplx
adds, as in the released WildHands model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import smplx
import torch
from smplx.utils import Struct

from wildhands_core.constants import (
    FINGERTIP_NAMES,
    FINGERTIP_VERTEX_IDS,
    NUM_BETAS,
    NUM_JOINTS,
    NUM_MANO_JOINTS,
    NUM_MANO_VERTICES,
)
from wildhands_core.mano.convert import load_mano_pickle, to_plain
from wildhands_core.mano.procedural import (
    PROCEDURAL_MANO_VERSION,
    PROCEDURAL_MARKER_KEY,
    write_procedural_mano,
)
from wildhands_core.rotations import rotmat_to_axis_angle_release

__all__ = [
    "MANO_DIR_ENV", "ManoLayer", "find_mano_files", "load_mano_pair", "procedural_cache_dir",
    "resolve_mano_dir",
]

MANO_DIR_ENV = "WILDHANDS_MANO_DIR"
_SIDES = {"right": "MANO_RIGHT.pkl", "left": "MANO_LEFT.pkl"}
#: Fingertip vertex ids in the order appended after the 16 joints (thumb, index, middle, ring, pinky).
TIP_VERTEX_IDS: tuple[int, ...] = tuple(FINGERTIP_VERTEX_IDS[n.removesuffix("_tip")] for n in FINGERTIP_NAMES)


def procedural_cache_dir() -> Path:
    """Where the procedural model is generated: ``$XDG_CACHE_HOME/wildhands/mano_procedural_v<N>``."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "wildhands" / f"mano_procedural_v{PROCEDURAL_MANO_VERSION}"


def find_mano_files(directory: str | Path) -> Path:
    """The folder holding ``MANO_RIGHT.pkl`` and ``MANO_LEFT.pkl`` given a MANO folder in either layout:
    flat (``D/MANO_RIGHT.pkl``, as downloaded or converted) or smplx's model folder
    (``D/mano/MANO_RIGHT.pkl``, what ``smplx.create(D, model_type="mano")`` reads). Raises
    ``FileNotFoundError`` naming every path looked for."""
    d = Path(directory).expanduser()
    candidates = (d, d / "mano")
    for folder in candidates:
        if all((folder / name).is_file() for name in _SIDES.values()):
            return folder
    looked = ", ".join(str(folder / name) for folder in candidates for name in _SIDES.values())
    raise FileNotFoundError(f"no MANO model in {d}: looked for {looked}")


def resolve_mano_dir(mano_dir: str | Path | None = None) -> Path:
    """The folder to read MANO files from (argument, then ``WILDHANDS_MANO_DIR``, then procedural,
    generated on first use). A given folder may be flat or smplx's layout (:func:`find_mano_files`);
    ``FileNotFoundError`` names the files looked for when it holds neither."""
    if mano_dir is not None:
        return find_mano_files(mano_dir)
    env = os.environ.get(MANO_DIR_ENV)
    if env:
        return find_mano_files(env)
    out = procedural_cache_dir()
    if not all((out / name).is_file() for name in _SIDES.values()):
        write_procedural_mano(out)
    return out


class ManoLayer(torch.nn.Module):
    """One hand side of MANO through ``smplx.MANO(use_pca=False, flat_hand_mean=False)``.

    Attributes: ``side`` ('right' / 'left'), ``source`` (which model files were loaded), ``faces``
    (1538, 3) long buffer, ``tip_vertex_ids`` (5,) long buffer (thumb, index, middle, ring, pinky).
    """

    def __init__(
        self, side: str, mano_dir: str | Path | None = None, data: dict | None = None,
        source: str | None = None,
    ) -> None:
        """``data``: MANO pickle contents to use instead of files (e.g. from a checkpoint), described by
        ``source``; otherwise the files of ``mano_dir`` (lookup order in the module docstring)."""
        super().__init__()
        if side not in _SIDES:
            raise ValueError(f"side must be 'right' or 'left', got {side!r}")
        self.side = side
        if data is not None:
            directory = Path(".")
            path = Path(f"<{source or 'MANO data'}>")
            self.source = source or "MANO data given in memory"
        else:
            directory = resolve_mano_dir(mano_dir)
            path = directory / _SIDES[side]
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found: {MANO_DIR_ENV} / mano_dir must hold "
                                        "MANO_RIGHT.pkl and MANO_LEFT.pkl")
            raw = load_mano_pickle(path)
            data = {k: to_plain(v, k) for k, v in raw.items()}
            if data.get(PROCEDURAL_MARKER_KEY):
                self.source = f"procedural MANO-format hand (not the licensed MANO model) at {directory}"
            else:
                self.source = f"licensed MANO files at {directory}"
        self.mano = smplx.MANO(
            model_path=str(directory), is_rhand=side == "right", data_struct=Struct(**data), use_pca=False,
            flat_hand_mean=False, num_betas=NUM_BETAS, create_global_orient=False, create_hand_pose=False,
            create_betas=False, create_transl=False, create_body_pose=False,
        )
        if self.mano.v_template.shape[0] != NUM_MANO_VERTICES:
            n_vertices = self.mano.v_template.shape[0]
            raise ValueError(f"{path}: {n_vertices} vertices, expected {NUM_MANO_VERTICES}")
        faces = torch.as_tensor(np.asarray(data["f"], dtype=np.int64))
        self.register_buffer("faces", faces, persistent=False)
        tips = torch.tensor(TIP_VERTEX_IDS, dtype=torch.long)
        self.register_buffer("tip_vertex_ids", tips, persistent=False)

    @property
    def is_right(self) -> bool:
        return self.side == "right"

    def forward(self, rotmat: torch.Tensor, betas: torch.Tensor) -> dict[str, torch.Tensor]:
        """rotmat (B, 16, 3, 3) local rotations (global orientation, then 15 finger joints relative to the
        mean pose), betas (B, 10) -> {'vertices': (B, 778, 3), 'joints': (B, 21, 3)} in metres, MANO frame,
        joints in MANO21 order (16 MANO joints, then tips thumb, index, middle, ring, pinky).

        The rotations become axis-angle through the release's mapping (angle in [0, 2 pi),
        :func:`~wildhands_core.rotations.rotmat_to_axis_angle_release`) before smplx adds the mean pose,
        as the released model does."""
        pose_aa = rotmat_to_axis_angle_release(rotmat).reshape(rotmat.shape[0], 3 * rotmat.shape[1])
        return self.forward_aa(pose_aa, betas)

    def forward_aa(self, pose_aa: torch.Tensor, betas: torch.Tensor) -> dict[str, torch.Tensor]:
        """pose_aa (B, 48) axis-angle (rad; global orientation then 15 joints relative to the mean pose),
        betas (B, 10) -> same dict as :meth:`forward`."""
        dtype = self.mano.shapedirs.dtype
        batch = pose_aa.shape[0]
        if batch == 0:
            empty = pose_aa.new_zeros
            return {"vertices": empty((0, NUM_MANO_VERTICES, 3), dtype=dtype),
                    "joints": empty((0, NUM_JOINTS, 3), dtype=dtype)}
        pose_aa = pose_aa.to(dtype)
        out = self.mano(betas=betas.to(dtype), global_orient=pose_aa[:, :3], hand_pose=pose_aa[:, 3:])
        vertices = out.vertices
        joints = torch.cat([out.joints[:, :NUM_MANO_JOINTS], vertices[:, self.tip_vertex_ids]], dim=1)
        return {"vertices": vertices, "joints": joints}


def load_mano_pair(
    mano_dir: str | Path | None = None, checkpoint_mano: dict[str, dict] | None = None,
    checkpoint_name: str = "checkpoint",
) -> tuple[ManoLayer, ManoLayer]:
    """(right, left) layers (lookup order in the module docstring): MANO files given explicitly
    (``mano_dir`` or ``WILDHANDS_MANO_DIR``) win over ``checkpoint_mano`` ({"right": data, "left": data},
    the MANO a released checkpoint carries), which wins over the procedural hand."""
    if mano_dir is None and not os.environ.get(MANO_DIR_ENV) and checkpoint_mano:
        source = f"MANO from checkpoint ({checkpoint_name})"
        return (ManoLayer("right", data=checkpoint_mano["right"], source=source),
                ManoLayer("left", data=checkpoint_mano["left"], source=source))
    directory = resolve_mano_dir(mano_dir)
    return ManoLayer("right", directory), ManoLayer("left", directory)
