"""H2O (Kwon et al., ICCV 2021), egocentric camera ``cam4``: 3D joints of both hands in the camera frame.

Expected layout (as released; the takes may sit one or two levels below the subject)::

    <root>/subject1/h1/0/cam4/
        cam_intrinsics.txt        one line "fx fy cx cy width height" (pixels)
        rgb/000000.png            colour frames (1280x720 in the release)
        hand_pose/000000.txt      128 numbers: left valid flag (1), left joints (21·3),
                                  right valid flag (1), right joints (21·3); metres, cam4 optical frame

Every ``cam4`` directory matching ``<root>/subject*/**/cam4`` is read (or only the subjects given). Joint
order in ``hand_pose``: OpenPose order (wrist, then thumb, index, middle, ring, pinky from base to tip),
converted to MANO21 here. One sample per valid hand per frame; the box is the tight box of the projected
joints grown by ``box_pad`` on each side. The MANO fits in ``hand_pose_mano/`` are not read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
        box_pad: float = 0.1,
    ) -> None:
        super().__init__(root)
        self.box_pad = box_pad
        pattern_roots = [self.root / s for s in subjects] if subjects else sorted(self.root.glob("subject*"))
        cam_dirs = sorted(d for r in pattern_roots for d in r.glob(f"**/{camera}") if d.is_dir())
        if not cam_dirs:
            raise DatasetFileError(f"H2O: no '{camera}' directory under {self.root}/subject*/")
        for cam_dir in cam_dirs:
            K, _ = read_h2o_intrinsics(cam_dir / "cam_intrinsics.txt")
            pose_files = sorted((cam_dir / "hand_pose").glob("*.txt"))[::frame_stride]
            for pf in pose_files:
                hands = read_h2o_hand_pose(pf)
                for side in ("left", "right"):
                    j = hands[side]
                    if j is not None:
                        self._records.append(
                            _H2ORecord(cam_dir, pf.stem, side == "right", openpose_to_mano21(j), K)
                        )

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
