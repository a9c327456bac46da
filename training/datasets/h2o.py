"""H2O (Kwon et al., ICCV 2021), egocentric camera ``cam4``: 3D joints of both hands in the camera frame.

Expected layout (as released; the takes may sit one or two levels below the subject)::

    <root>/subject1/h1/0/cam4/
        cam_intrinsics.txt        one line "fx fy cx cy width height" (pixels)
        rgb/000000.png            colour frames (1280x720 in the release)
        hand_pose/000000.txt      128 numbers: left valid flag (1), left joints (21·3),
                                  right valid flag (1), right joints (21·3); metres, cam4 optical frame

    <root>/pose_lists/pose_<split>.txt      one frame per line, "subject3/k2/0/cam4/rgb/000000.png"

With ``split`` ("val" is the official evaluation split: ``pose_val.txt`` = subject3/{k2, o1, o2}, 11,638
frames) only the frames listed there are read; without it every ``cam4`` directory matching
``<root>/subject*/**/cam4``
(or only the subjects given). Fields read: ``cam_intrinsics.txt`` (fx fy cx cy width height) and
``hand_pose/%06d.txt``. Joint
order in ``hand_pose``: OpenPose order (wrist, then thumb, index, middle, ring, pinky from base to tip),
converted to MANO21 here. One sample per valid hand per frame; the box is the tight box of the projected
joints (``box_pad`` per side, 0 = none). The MANO fits in ``hand_pose_mano/`` are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from training.datasets.base import (
    DatasetFileError,
    DatasetFormatError,
    HandDataset,
    load_rgb,
    openpose_to_mano21,
    pinhole_joints_sample,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_JOINTS

H2O_VALUES_PER_FILE = 2 * (1 + 3 * NUM_JOINTS)


@dataclass
class _H2ORecord:
    cam_dir: Path
    stem: str
    is_right: bool
    joints_cam_m: np.ndarray  # (21, 3) MANO21 order
    K_px: np.ndarray


def read_h2o_intrinsics(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Read ``cam_intrinsics.txt`` → (K (3, 3) pixels, (width, height))."""
    if not path.is_file():
        raise DatasetFileError(f"H2O intrinsics not found: {path}")
    vals = np.loadtxt(path, dtype=np.float64).reshape(-1)
    if vals.size != 6:
        raise DatasetFormatError(f"{path}: expected 6 numbers 'fx fy cx cy width height', got {vals.size}")
    fx, fy, cx, cy, w, h = vals
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]), (int(w), int(h))


def read_h2o_hand_pose(path: Path) -> dict[str, np.ndarray | None]:
    """Read a ``hand_pose/<frame>.txt`` → {"left": (21, 3) or None, "right": ...}, metres, OpenPose order."""
    if not path.is_file():
        raise DatasetFileError(f"H2O hand pose not found: {path}")
    vals = np.loadtxt(path, dtype=np.float64).reshape(-1)
    if vals.size != H2O_VALUES_PER_FILE:
        raise DatasetFormatError(f"{path}: expected {H2O_VALUES_PER_FILE} numbers, got {vals.size}")
    n = 1 + 3 * NUM_JOINTS
    out: dict[str, np.ndarray | None] = {}
    for side, block in (("left", vals[:n]), ("right", vals[n:])):
        out[side] = block[1:].reshape(NUM_JOINTS, 3) if block[0] > 0.5 else None
    return out


class H2ODataset(HandDataset):
    """H2O egocentric frames, one ``HandSample`` per valid hand (joints, 2D keypoints, K, box)."""

    name = "h2o"

    def __init__(
        self,
        root: str | Path,
        subjects: list[str] | None = None,
        camera: str = "cam4",
        frame_stride: int = 1,
        box_pad: float = 0.0,
        split: str | None = None,
    ) -> None:
        super().__init__(root)
        self.box_pad = box_pad
        if split is not None:
            self._read_split(split, frame_stride)
            return
        pattern_roots = [self.root / s for s in subjects] if subjects else sorted(self.root.glob("subject*"))
        cam_dirs = sorted(d for r in pattern_roots for d in r.glob(f"**/{camera}") if d.is_dir())
        if not cam_dirs:
            raise DatasetFileError(f"H2O: no '{camera}' directory under {self.root}/subject*/")
        for cam_dir in cam_dirs:
            K, _ = read_h2o_intrinsics(cam_dir / "cam_intrinsics.txt")
            pose_files = sorted((cam_dir / "hand_pose").glob("*.txt"))[::frame_stride]
            for pf in pose_files:
                self._add_frame(cam_dir, pf, K)

    def _add_frame(self, cam_dir: Path, pose_file: Path, K: np.ndarray) -> None:
        hands = read_h2o_hand_pose(pose_file)
        for side in ("left", "right"):
            j = hands[side]
            if j is not None:
                joints = openpose_to_mano21(j)
                self._records.append(_H2ORecord(cam_dir, pose_file.stem, side == "right", joints, K))

    def _read_split(self, split: str, frame_stride: int) -> None:
        """The frames of ``pose_lists/pose_<split>.txt`` (paths from ``subject*``; ``rgb/<frame>.png``)."""
        path = self.root / "pose_lists" / f"pose_{split}.txt"
        if not path.is_file():
            raise DatasetFileError(f"H2O split list not found: {path}")
        lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()][::frame_stride]
        Ks: dict[Path, np.ndarray] = {}
        for ln in lines:
            i = ln.find("subject")
            if i < 0:
                raise DatasetFormatError(f"{path}: line {ln!r} does not name a subject*/ path")
            p = PurePosixPath(ln[i:])
            cam_dir = self.root / (p.parent.parent if p.parent.name == "rgb" else p.parent)
            if cam_dir not in Ks:
                Ks[cam_dir] = read_h2o_intrinsics(cam_dir / "cam_intrinsics.txt")[0]
            self._add_frame(cam_dir, cam_dir / "hand_pose" / f"{p.stem}.txt", Ks[cam_dir])

    def _load(self, r: _H2ORecord) -> HandSample:
        image = load_rgb(r.cam_dir / "rgb" / f"{r.stem}.png")
        frame_id = f"{r.cam_dir.relative_to(self.root)}/{r.stem}"
        valid = np.ones(NUM_JOINTS, dtype=bool)
        # a hand entirely outside the image keeps the box of its unclipped projection
        return pinhole_joints_sample(
            image,
            r.K_px,
            r.joints_cam_m,
            valid,
            self.box_pad,
            r.is_right,
            self.name,
            frame_id,
            unclipped_fallback=True,
        )
