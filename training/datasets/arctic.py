"""ARCTIC (Fan et al., CVPR 2023), egocentric view (camera 0): MANO parameters, 3D joints, 2D keypoints, K.

Expected layout (a subset of the public release, paths under ``arctic_data/data``)::

    <root>/meta/misc.json                     {"s01": {"ioi_offset": int, ...}, ...}
    <root>/raw_seqs/<subject>/<seq>.mano.npy  pickled dict {"right"|"left": {
                                                  "rot": (T, 3) global orientation, axis-angle (world),
                                                  "pose": (T, 45) finger articulations, axis-angle,
                                                  "trans": (T, 3) metres (world),
                                                  "shape": (10,) or (T, 10) betas,
                                                  "fitting_err": (T,)}}
    <root>/raw_seqs/<subject>/<seq>.egocam.dist.npy
                                              pickled dict {"R_k_cam_np": (T, 3, 3), "T_k_cam_np": (T, 3, 1)
                                                  world → egocentric camera, metres; "intrinsics": (3, 3)
                                                  pixels; "dist8": (8,) OpenCV rational distortion}
    <root>/images/<subject>/<seq>/0/<frame:05d>.jpg   egocentric frames, frame = MANO index + ioi_offset
    <root>/splits_json/protocol_<p>.json      {"train": ["s01/box_grab_01", ...], "val": [...], "test": [...]}

ARCTIC's MANO pose follows smplx ``flat_hand_mean=False``, as ``HandSample`` does. Joints are not stored in
this layout, so the caller injects ``mano_fn(pose_aa (B, 48), betas (B, 10), is_right) -> (B, 21, 3)``:
MANO21 joints in metres, MANO's own frame, zero translation (e.g. smplx MANO + 5 fingertip vertices).
World joints = ``mano_fn(...) + trans``; camera joints = ``R_k_cam · world + T_k_cam``. The MANO parameters
are re-expressed in the camera frame: global orientation ``R_k_cam · R_rot`` and translation
``R_k_cam (J0 + trans) + T_k_cam − J0`` (J0 = the wrist of the unposed hand, about which smplx rotates),
so running MANO with them gives the camera joints.

As the WildHands authors train on ARCTIC (reference/datasets.md): 2D keypoints are the UNDISTORTED pinhole
projection of view 0 (``apply_distortion=False``; True projects with ``dist8`` as the images are distorted);
``K_px`` is ``intrinsics`` and ``extra["dist8"]`` holds the coefficients. Which hands are kept is decided as
ARCTIC's processing does (``src/arctic/processing.py``, ``forward_valid``: view index 9, the DISTORTED
egocentric projection, against the fixed box [1, 2800] x [1, 2000]): a hand is kept only when its root (wrist)
and at least ``min_joints_in_image`` (3) joints in all, the root included, project with ``intrinsics`` and
``dist8`` inside ``valid_box_xyxy`` (inclusive, pixels of the full-resolution 2800x2000 egocentric image,
whatever ``image_scale``; a joint behind the camera never counts). The first and last ``trim_frames`` (10)
IMAGES of each sequence are dropped (they may be black), counted as the authors do (ap229997/hands
``src/arctic/split.py`` ``glob_fnames``: image indices ``trim .. T - trim - 1`` with T the number of MANO
frames; ``hands_light_dataset.py``: MANO index = image index − ``ioi_offset``): see :func:`kept_mano_frames`.
Splits come from ``splits_json/protocol_<p>.json``; the default is the egocentric protocol ``p2`` (the
processed ``splits/p1_train.npy`` files are not used). ``image_scale`` maps K (and so the keypoints) to images
on disk resized by that factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from training.datasets.base import (
    DatasetFileError,
    DatasetFormatError,
    HandDataset,
    keypoint_box,
    load_rgb,
    read_json,
    read_npy_dict,
    require_keys,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_BETAS, NUM_HAND_POSE, NUM_JOINTS

#: ``mano_fn(pose_aa (B, 48), betas (B, 10), is_right) -> joints (B, 21, 3)``, metres, MANO frame, MANO21.
ManoFn = Callable[[np.ndarray, np.ndarray, bool], np.ndarray]

ARCTIC_EGO_VIEW = 0
#: ARCTIC's box for a valid egocentric joint (processing.py ``forward_valid``): [1, 2800] x [1, 2000] pixels
#: of the full-resolution distorted egocentric image, bounds included.
ARCTIC_EGO_VALID_BOX = (1.0, 1.0, 2800.0, 2000.0)
MANO_KEYS = ("rot", "pose", "trans", "shape")
EGOCAM_KEYS = ("R_k_cam_np", "T_k_cam_np", "intrinsics", "dist8")


@dataclass
class _ArcticSeqHand:
    joints_cam_m: np.ndarray  # (T, 21, 3)
    pose_cam_aa: np.ndarray  # (T, 48)
    betas: np.ndarray  # (T, 10)
    transl_cam_m: np.ndarray  # (T, 3)
    keypoints_px: np.ndarray  # (T, 21, 2), NaN behind the camera
    fitting_err: np.ndarray | None  # (T,)
    in_valid_box: np.ndarray  # (T, 21) bool: the distorted projection inside ``valid_box_xyxy``


@dataclass
class _ArcticRecord:
    subject: str
    seq: str
    frame: int  # MANO index
    side: str


def scale_intrinsics(K: np.ndarray, s: float) -> np.ndarray:
    """K of an image resized by ``s`` (pixel centres at integer coordinates): f' = s f, c' = s (c + ½) − ½."""
    out = K.astype(np.float64).copy()
    out[0, 0] *= s
    out[1, 1] *= s
    out[:2, 2] = s * (out[:2, 2] + 0.5) - 0.5
    return out


def project_distorted(pts: np.ndarray, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(N, 3) camera points (metres) → (N, 2) pixels through ``K`` and the OpenCV rational distortion ``dist``
    (k1, k2, p1, p2, k3, k4, k5, k6: ARCTIC's ``distort_pts3d_all``); NaN for z ≤ 0."""
    d = np.asarray(dist, dtype=np.float64)
    uv, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, d)
    uv = uv.reshape(-1, 2)
    uv[pts[:, 2] <= 0] = np.nan
    return uv


def kept_mano_frames(n_mano: int, ioi_offset: int, trim: int = 10, stride: int = 1) -> list[int]:
    """MANO indices of the frames kept of a sequence of ``n_mano`` MANO frames: the images ``trim`` ..
    ``n_mano - trim - 1`` (every ``stride``-th), each MANO index = image index − ``ioi_offset``, those below 0
    left out (they have no MANO frame). ``trim`` 0 keeps every MANO frame."""
    if trim <= 0:
        return list(range(0, n_mano, stride))
    return [i - ioi_offset for i in range(trim, n_mano - trim, stride) if i - ioi_offset >= 0]


def arctic_sequences(root: Path, protocol: str, split: str) -> list[str]:
    """Sequence names ``"<subject>/<seq>"`` of ``split`` in ``splits_json/protocol_<protocol>.json``."""
    path = root / "splits_json" / f"protocol_{protocol}.json"
    splits = read_json(path)
    if split not in splits:
        raise DatasetFormatError(f"{path}: no split '{split}' (has {sorted(splits)})")
    return list(splits[split])


def mano_params_to_camera(
    rot_aa: np.ndarray, trans: np.ndarray, root_rest: np.ndarray, R_wc: np.ndarray, t_wc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Re-express MANO global orientation (B, 3) and translation (B, 3) from world to camera frame.

    ``root_rest`` (B, 3) is the wrist of the shaped, unposed hand (smplx rotates about it); ``R_wc`` (B, 3, 3)
    and ``t_wc`` (B, 3) map world to camera. Returns (rot_cam_aa (B, 3), transl_cam (B, 3)).
    """
    rot_cam = Rotation.from_matrix(R_wc) * Rotation.from_rotvec(rot_aa)
    transl_cam = np.einsum("bij,bj->bi", R_wc, root_rest + trans) + t_wc - root_rest
    return rot_cam.as_rotvec(), transl_cam


class ArcticEgoDataset(HandDataset):
    """ARCTIC egocentric frames; one ``HandSample`` per hand per frame with MANO, joints, keypoints, K."""

    name = "arctic"

    def __init__(
        self,
        root: str | Path,
        mano_fn: ManoFn,
        split: str | None = None,
        protocol: str = "p2",
        sequences: list[str] | None = None,
        frame_stride: int = 1,
        image_scale: float = 1.0,
        box_pad: float = 0.0,
        apply_distortion: bool = False,
        trim_frames: int = 10,
        min_joints_in_image: int = 3,
        valid_box_xyxy: tuple[float, float, float, float] = ARCTIC_EGO_VALID_BOX,
    ) -> None:
        super().__init__(root)
        self.mano_fn = mano_fn
        self.image_scale = float(image_scale)
        self.box_pad = box_pad
        self.apply_distortion = apply_distortion
        self.valid_box_xyxy = tuple(float(v) for v in valid_box_xyxy)
        misc = read_json(self.root / "meta" / "misc.json")
        if sequences is None:
            if split is not None:
                sequences = arctic_sequences(self.root, protocol, split)
            else:
                sequences = sorted(
                    f"{p.parent.name}/{p.name[: -len('.mano.npy')]}"
                    for p in (self.root / "raw_seqs").glob("*/*.mano.npy")
                )
        if not sequences:
            raise DatasetFileError(f"ARCTIC: no sequence found under {self.root / 'raw_seqs'}")
        self.ioi_offset: dict[str, int] = {}
        self.K_px: dict[str, np.ndarray] = {}
        self.dist8: dict[str, np.ndarray] = {}
        self._hands: dict[tuple[str, str], _ArcticSeqHand] = {}
        for name in sequences:
            subject, seq = name.split("/")
            if subject not in misc or "ioi_offset" not in misc[subject]:
                raise DatasetFormatError(f"{self.root / 'meta' / 'misc.json'}: no '{subject}' → 'ioi_offset'")
            self.ioi_offset[subject] = int(misc[subject]["ioi_offset"])
            n = self._load_sequence(subject, seq)
            frames = kept_mano_frames(n, self.ioi_offset[subject], trim_frames, frame_stride)
            for t in frames:
                for side in ("left", "right"):
                    inside = self._hands[(f"{subject}/{seq}", side)].in_valid_box[t]
                    if inside[0] and inside.sum() >= min_joints_in_image:
                        self._records.append(_ArcticRecord(subject, seq, t, side))

    def _load_sequence(self, subject: str, seq: str) -> int:
        seq_dir = self.root / "raw_seqs" / subject
        mano_path, cam_path = seq_dir / f"{seq}.mano.npy", seq_dir / f"{seq}.egocam.dist.npy"
        mano = read_npy_dict(mano_path)
        cam = read_npy_dict(cam_path)
        require_keys(cam, EGOCAM_KEYS, cam_path)
        R_wc = np.asarray(cam["R_k_cam_np"], dtype=np.float64).reshape(-1, 3, 3)
        t_wc = np.asarray(cam["T_k_cam_np"], dtype=np.float64).reshape(-1, 3)
        K_full = np.asarray(cam["intrinsics"], dtype=np.float64).reshape(3, 3)
        K = scale_intrinsics(K_full, self.image_scale)
        dist = np.asarray(cam["dist8"], dtype=np.float64).reshape(-1)
        key = f"{subject}/{seq}"
        self.K_px[key], self.dist8[key] = K, dist
        n_frames = None
        for side in ("left", "right"):
            if side not in mano:
                raise DatasetFormatError(f"{mano_path}: missing key '{side}'")
            require_keys(mano[side], MANO_KEYS, f"{mano_path}['{side}']")
            m = {k: np.asarray(v, dtype=np.float64) for k, v in mano[side].items() if k in MANO_KEYS}
            T = m["rot"].shape[0]
            if R_wc.shape[0] < T:
                raise DatasetFormatError(f"{cam_path}: {R_wc.shape[0]} camera poses for {T} MANO frames")
            betas = np.broadcast_to(m["shape"].reshape(-1, NUM_BETAS), (T, NUM_BETAS)).copy()
            pose = np.concatenate([m["rot"].reshape(T, 3), m["pose"].reshape(T, NUM_HAND_POSE)], axis=1)
            joints_mano = np.asarray(self.mano_fn(pose, betas, side == "right"), dtype=np.float64)
            if joints_mano.shape != (T, NUM_JOINTS, 3):
                raise ValueError(f"mano_fn returned shape {joints_mano.shape}, expected {(T, NUM_JOINTS, 3)}")
            world = joints_mano + m["trans"][:, None, :]
            joints_cam = np.einsum("tij,tkj->tki", R_wc[:T], world) + t_wc[:T, None, :]
            rot_cam, transl_cam = mano_params_to_camera(
                m["rot"], m["trans"], joints_mano[:, 0], R_wc[:T], t_wc[:T]
            )
            pose_cam = pose.copy()
            pose_cam[:, :3] = rot_cam
            kp = self._project(joints_cam.reshape(-1, 3), K, dist).reshape(T, NUM_JOINTS, 2)
            x0, y0, x1, y1 = self.valid_box_xyxy
            uv = project_distorted(joints_cam.reshape(-1, 3), K_full, dist).reshape(T, NUM_JOINTS, 2)
            with np.errstate(invalid="ignore"):
                in_box = (uv[..., 0] >= x0) & (uv[..., 0] <= x1) & (uv[..., 1] >= y0) & (uv[..., 1] <= y1)
            err = mano[side].get("fitting_err")
            self._hands[(key, side)] = _ArcticSeqHand(
                joints_cam, pose_cam, betas, transl_cam, kp, None if err is None else np.asarray(err), in_box
            )
            n_frames = T if n_frames is None else min(n_frames, T)
        return int(n_frames)

    def _project(self, pts: np.ndarray, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
        """(N, 3) camera points → (N, 2) pixels (with ``dist8`` if ``apply_distortion``); NaN for z ≤ 0."""
        return project_distorted(pts, K, dist if self.apply_distortion else np.zeros(8))

    def image_path(self, subject: str, seq: str, frame: int) -> Path:
        """Path of the egocentric image of MANO frame ``frame``."""
        idx = frame + self.ioi_offset[subject]
        return self.root / "images" / subject / seq / str(ARCTIC_EGO_VIEW) / f"{idx:05d}.jpg"

    def _load(self, r: _ArcticRecord) -> HandSample:
        key = f"{r.subject}/{r.seq}"
        hand = self._hands[(key, r.side)]
        image = load_rgb(self.image_path(r.subject, r.seq, r.frame))
        h, w = image.shape[:2]
        uv = hand.keypoints_px[r.frame]
        box, valid = keypoint_box(uv, (w, h), self.box_pad)
        extra: dict = {"joints3d_valid": np.ones(NUM_JOINTS, dtype=bool), "dist8": self.dist8[key].copy()}
        if hand.fitting_err is not None:
            extra["fitting_err"] = float(hand.fitting_err[r.frame])
        return HandSample(
            image=image,
            K_px=self.K_px[key].copy(),
            box_xyxy_px=box,
            is_right=r.side == "right",
            dataset=self.name,
            frame_id=f"{key}/{r.frame:05d}/{r.side}",
            joints_cam_m=hand.joints_cam_m[r.frame].copy(),
            keypoints_px=np.nan_to_num(uv),
            keypoints_valid=valid,
            mano_pose_aa=hand.pose_cam_aa[r.frame].copy(),
            mano_betas=hand.betas[r.frame].copy(),
            mano_transl_m=hand.transl_cam_m[r.frame].copy(),
            extra=extra,
        )


def make_mano_fn(mano_dir: str | Path | None = None) -> ManoFn:
    """A ``mano_fn`` on ``wildhands_core``'s MANO layer (smplx ``use_pca=False``, ``flat_hand_mean=False``,
    the 16 joints + the 5 fingertip vertices). ``mano_dir`` holds ``MANO_RIGHT.pkl`` and ``MANO_LEFT.pkl``
    flat or in smplx's ``mano/`` subfolder (licensed files as downloaded, converted or procedural; None = the
    default lookup of :func:`wildhands_core.mano.layer.resolve_mano_dir`). A folder with neither layout
    raises ``DatasetFileError`` naming the files looked for."""
    import torch

    from wildhands_core.mano.layer import ManoLayer, resolve_mano_dir

    try:
        directory = resolve_mano_dir(mano_dir)
    except FileNotFoundError as e:
        raise DatasetFileError(f"ARCTIC needs MANO: {e}") from None
    layers = {is_right: ManoLayer("right" if is_right else "left", directory) for is_right in (True, False)}

    def mano_fn(pose_aa: np.ndarray, betas: np.ndarray, is_right: bool) -> np.ndarray:
        p = torch.as_tensor(np.asarray(pose_aa), dtype=torch.float64)
        b = torch.as_tensor(np.asarray(betas), dtype=torch.float64)
        with torch.no_grad():
            joints = layers[is_right].forward_aa(p, b)["joints"]
        return joints.numpy().astype(np.float64)

    return mano_fn
