"""Writes a tiny ARCTIC egocentric dataset (s01/box_grab_01, 3 MANO frames, 64x48 JPEGs) in the layout of
``training.datasets.arctic``, and a toy ``mano_fn`` standing in for MANO (whose files are licensed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures_common import write_image
from scipy.spatial.transform import Rotation

ARCTIC_W, ARCTIC_H = 64, 48
ARCTIC_K = np.array([[40.0, 0.0, 32.0], [0.0, 40.0, 24.0], [0.0, 0.0, 1.0]])
IOI_OFFSET = 2
N_FRAMES = 3
SEQ = "s01/box_grab_01"

_BASE = np.random.default_rng(7).uniform(-0.06, 0.06, size=(21, 3))
_BASE[0] = [0.01, 0.02, 0.03]  # the wrist is off the origin, as in MANO


def toy_mano_fn(pose_aa: np.ndarray, betas: np.ndarray, is_right: bool) -> np.ndarray:
    """A rigid stand-in for MANO with smplx's global behaviour: a template scaled by (1 + 0.1 β₀), mirrored in
    x for the left hand, rotated by the global orientation about its wrist J0 (articulations ignored).
    (B, 48), (B, 10) → (B, 21, 3) metres."""
    base = _BASE if is_right else _BASE * np.array([-1.0, 1.0, 1.0])
    tpl = (1.0 + 0.1 * np.asarray(betas)[:, :1])[:, :, None] * base  # (B, 21, 3)
    j0 = tpl[:, :1]
    R = Rotation.from_rotvec(np.asarray(pose_aa)[:, :3]).as_matrix()
    return np.einsum("bij,bkj->bki", R, tpl - j0) + j0


def arctic_camera(n_frames: int = N_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """World → ego camera per frame: (n, 3, 3) rotations and (n, 3) translations, metres (3 poses, cycled)."""
    R = np.stack(
        [
            np.eye(3),
            Rotation.from_euler("x", 10, degrees=True).as_matrix(),
            Rotation.from_euler("yz", [-15, 30], degrees=True).as_matrix(),
        ]
    )
    T = np.array([[0.0, 0.0, 0.5], [0.01, 0.0, 0.5], [0.0, 0.02, 0.45]])
    idx = np.arange(n_frames) % 3
    return R[idx], T[idx]


def arctic_mano(n_frames: int = N_FRAMES) -> dict:
    rng = np.random.default_rng(3)
    out = {}
    for side, trans, beta0 in (("right", [0.02, 0.0, 0.0], 0.5), ("left", [-0.03, 0.01, 0.02], -0.3)):
        shape = np.zeros(10)
        shape[0] = beta0
        out[side] = {
            "rot": rng.uniform(-0.4, 0.4, size=(n_frames, 3)),
            "pose": rng.uniform(-0.2, 0.2, size=(n_frames, 45)),
            "trans": np.tile(np.asarray(trans), (n_frames, 1)) + 0.01 * (np.arange(n_frames) % 3)[:, None],
            "shape": shape,
            "fitting_err": 0.001 * (1 + np.arange(n_frames)),
        }
    return out


def write_arctic(
    root: Path, dist8: np.ndarray | None = None, n_frames: int = N_FRAMES, K: np.ndarray | None = None
) -> dict:
    """Writes meta/misc.json, raw_seqs/s01/box_grab_01.{mano,egocam.dist}.npy (``intrinsics`` = ``K``, default
    ``ARCTIC_K``), the ego images (frame t's image is ``{t + IOI_OFFSET:05d}.jpg``, colour (40 (t + 2), 100,
    50)) and splits_json/protocol_p1.json."""
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "misc.json").write_text(json.dumps({"s01": {"ioi_offset": IOI_OFFSET, "world2cam": []}}))
    seq_dir = root / "raw_seqs" / "s01"
    seq_dir.mkdir(parents=True)
    mano = arctic_mano(n_frames)
    np.save(seq_dir / "box_grab_01.mano.npy", mano, allow_pickle=True)
    R, T = arctic_camera(n_frames)
    cam = {
        "R_k_cam_np": R,
        "T_k_cam_np": T[:, :, None],
        "intrinsics": ARCTIC_K if K is None else np.asarray(K, dtype=np.float64),
        "dist8": np.zeros(8) if dist8 is None else np.asarray(dist8),
    }
    np.save(seq_dir / "box_grab_01.egocam.dist.npy", cam, allow_pickle=True)
    for t in range(n_frames):
        idx = t + IOI_OFFSET
        write_image(
            root / "images" / "s01" / "box_grab_01" / "0" / f"{idx:05d}.jpg",
            ARCTIC_W,
            ARCTIC_H,
            ((40 * idx) % 256, 100, 50),
        )
    (root / "splits_json").mkdir()
    for p in ("p1", "p2"):  # the release ships both protocols
        split = json.dumps({"train": [SEQ], "val": [], "test": []})
        (root / "splits_json" / f"protocol_{p}.json").write_text(split)
    return {"mano": mano, "R": R, "T": T}


def arctic_camera_joints(gt: dict, t: int, side: str) -> np.ndarray:
    """(21, 3) camera joints of MANO frame ``t`` of ``side`` from what ``write_arctic`` wrote: toy MANO +
    ``trans`` (world), then the ego camera ``R · world + T``, metres."""
    m = gt["mano"][side]
    pose = np.concatenate([m["rot"][t], m["pose"][t]])[None]
    world = toy_mano_fn(pose, m["shape"][None], side == "right")[0] + m["trans"][t]
    return world @ gt["R"][t].T + gt["T"][t]
