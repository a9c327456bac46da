"""Ego-Exo4D hand pose (Grauman et al., CVPR 2024), egocentric Aria view: 3D and 2D joints of both hands.

Modelled on the public ``ego_pose`` hand annotations; the structure below is what this adapter ASSUMES
(fields marked * are assumptions where the release was not at hand)::

    <root>/annotations/ego_pose/<split>/hand/annotation/<take_uid>.json
        {"<frame>": [{"annotation3D": {"<side>_<joint>": {"x", "y", "z"}, ...},    metres, world frame
                      "annotation2D": {"<camera>[_<stream>]": {"<side>_<joint>": {"x", "y"}, ...}}}]}
    <root>/annotations/ego_pose/<split>/camera_pose/<take_uid>.json
        {"<camera>": {"camera_intrinsics": (3, 3) pixels,
                      "camera_extrinsics": {"<frame>": (3, 4) [R | t] world → camera, metres}}}
    <root>/images/<take_uid>/<camera>/<frame:06d>.jpg*   undistorted frames in the pixel frame of
                                                          ``camera_intrinsics``

``<side>`` is ``left`` / ``right``; ``<joint>`` is ``wrist`` or ``<finger>_<k>`` with finger in thumb, index,
middle, ring, pinky and k = 1 (base) … 4 (tip), i.e. OpenPose order, converted to MANO21. ``camera`` defaults
to the first camera whose name starts with "aria". A hand needs ≥ ``min_valid_joints`` 3D joints; missing
joints are zero and ``False`` in ``extra["joints3d_valid"]``. 2D keypoints are the manual ``annotation2D``
points of that camera where present, else the projection of the 3D joint; the box is their tight box
grown by ``box_pad`` per side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DatasetFileError,
    DatasetFormatError,
    HandDataset,
    keypoint_box,
    load_rgb,
    openpose_to_mano21,
    project_points,
    read_json,
    require_keys,
)
from training.sample import HandSample
from wildhands_core.constants import NUM_JOINTS

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
#: Ego-Exo4D joint names (without side) in OpenPose order.
EGOEXO_JOINT_NAMES: tuple[str, ...] = ("wrist", *tuple(f"{f}_{k}" for f in FINGERS for k in range(1, 5)))


def egoexo_joints(points: dict, side: str, dims: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``{"<side>_<joint>": {"x", "y"[, "z"]}}`` → ((21, len(dims)) MANO21 order, (21,) bool present)."""
    arr = np.zeros((NUM_JOINTS, len(dims)))
    ok = np.zeros(NUM_JOINTS, dtype=bool)
    for i, name in enumerate(EGOEXO_JOINT_NAMES):
        p = points.get(f"{side}_{name}")
        if p is not None and all(p.get(d) is not None for d in dims):
            arr[i] = [float(p[d]) for d in dims]
            ok[i] = True
    return openpose_to_mano21(arr), openpose_to_mano21(ok)


@dataclass
class _EgoExoRecord:
    image_path: Path
    frame_id: str
    is_right: bool
    joints_cam_m: np.ndarray
    joints_valid: np.ndarray
    kp2d_px: np.ndarray
    kp2d_valid: np.ndarray
    K_px: np.ndarray


class EgoExo4DHandsDataset(HandDataset):
    """Ego-Exo4D hands in the Aria view, one ``HandSample`` per annotated hand (3D/2D joints, K, box)."""

    name = "egoexo4d_hands"

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        camera: str | None = None,
        takes: list[str] | None = None,
        min_valid_joints: int = 3,
        box_pad: float = 0.1,
    ) -> None:
        super().__init__(root)
        self.box_pad = box_pad
        base = self.root / "annotations" / "ego_pose" / split
        ann_dir = base / "hand" / "annotation"
        files = [ann_dir / f"{t}.json" for t in takes] if takes else sorted(ann_dir.glob("*.json"))
        if not files:
            raise DatasetFileError(f"Ego-Exo4D: no annotation JSON in {ann_dir}")
        for path in files:
            take = path.stem
            cam_path = base / "camera_pose" / f"{take}.json"
            cams = read_json(cam_path)
            cam = camera or next((c for c in sorted(cams) if c.startswith("aria")), None)
            if cam is None or cam not in cams:
                raise DatasetFormatError(f"{cam_path}: no camera {camera or 'aria*'}")
            require_keys(cams[cam], ("camera_intrinsics", "camera_extrinsics"), f"{cam_path}['{cam}']")
            K = np.asarray(cams[cam]["camera_intrinsics"], dtype=np.float64).reshape(3, 3)
            for frame, entries in read_json(path).items():
                Rt_list = cams[cam]["camera_extrinsics"].get(str(frame))
                if Rt_list is None:
                    raise DatasetFormatError(f"{cam_path}: no extrinsics of {cam} for frame {frame}")
                Rt = np.asarray(Rt_list, dtype=np.float64).reshape(3, 4)
                for entry in entries if isinstance(entries, list) else [entries]:
                    self._add(path, take, cam, int(frame), entry, K, Rt, min_valid_joints)

    def _add(
        self,
        path: Path,
        take: str,
        cam: str,
        frame: int,
        entry: dict,
        K: np.ndarray,
        Rt: np.ndarray,
        min_valid: int,
    ) -> None:
        ann2d_all = entry.get("annotation2D", {})
        ann2d = next((v for k, v in sorted(ann2d_all.items()) if k == cam or k.startswith(f"{cam}_")), {})
        for side in ("left", "right"):
            world, ok3 = egoexo_joints(entry.get("annotation3D", {}), side, ("x", "y", "z"))
            if ok3.sum() < min_valid:
                continue
            cam_m = (world @ Rt[:, :3].T + Rt[:, 3]) * ok3[:, None]
            proj = np.nan_to_num(project_points(cam_m, K))
            kp2, ok2 = egoexo_joints(ann2d, side, ("x", "y"))
            kp = np.where(ok2[:, None], kp2, proj)
            self._records.append(
                _EgoExoRecord(
                    self.root / "images" / take / cam / f"{frame:06d}.jpg",
                    f"{take}/{frame:06d}/{side}",
                    side == "right",
                    cam_m,
                    ok3,
                    kp,
                    ok2 | ok3,
                    K,
                )
            )

    def _load(self, r: _EgoExoRecord) -> HandSample:
        image = load_rgb(r.image_path)
        h, w = image.shape[:2]
        box, valid = keypoint_box(r.kp2d_px, (w, h), self.box_pad, r.kp2d_valid)
        return HandSample(
            image=image,
            K_px=r.K_px.copy(),
            box_xyxy_px=box,
            is_right=r.is_right,
            dataset=self.name,
            frame_id=r.frame_id,
            joints_cam_m=r.joints_cam_m.copy(),
            keypoints_px=r.kp2d_px.copy(),
            keypoints_valid=valid,
            extra={"joints3d_valid": r.joints_valid.copy()},
        )
