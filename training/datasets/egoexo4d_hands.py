"""Ego-Exo4D hand pose (Grauman et al., CVPR 2024), egocentric Aria view: 3D and 2D joints of both hands.

Reads the released ``ego_pose`` hand annotations (docs.ego-exo4d-data.org; EGO4D/ego-exo4d-egopose)::

    <root>/annotations/ego_pose/<split>/hand/annotation/<take_uid>.json
        {"<frame>": [{"annotation3D": {"<side>_<joint>": {"x", "y", "z"}, ...},    metres, world frame
                      "annotation2D": {"<camera>": {"<side>_<joint>": {"x", "y"}, ...}}}]}
    <root>/annotations/ego_pose/<split>/camera_pose/<take_uid>.json
        {"metadata": {"take_name", "take_uid"},
         "<camera>": {"camera_intrinsics": (3, 3) pixels of the undistorted frame,
                      "camera_extrinsics": {"<frame>": (3, 4) [R | t] world → camera, metres}}}
    <root>/takes.json                     [{"take_uid", "take_name"}, ...] (used when metadata lacks the name)

and the images the official data preparation makes (EGO4D/ego-exo4d-egopose ``handpose/data_preparation``,
``python3 main.py --steps raw_image undistorted_image``): the Aria RGB frames undistorted to a 512x512
linear camera (f = 150 px, landscape view), at
``<gt_output_dir>/image/undistorted/<split>/<take_name>/%06d.jpg``,
keyed by take NAME. ``images_dir`` is that ``.../undistorted/<split>`` directory (default
``<root>/image/undistorted/<split>``: run the preparation with ``--gt_output_dir <root>``).

``<side>`` is ``left`` / ``right``; ``<joint>`` is ``wrist`` or ``<finger>_<k>`` with finger in thumb, index,
middle, ring, pinky and k = 1 (base) … 4 (tip), i.e. OpenPose order, converted to MANO21. ``camera`` defaults
to the first camera whose name starts with "aria" (an ``annotation2D`` key equal to it or starting with
``<camera>_`` is that camera's). The reference loader's joint filters: a hand needs its 3D wrist; a joint
counts when its projection lies inside the image (``image_wh``, 512x512; the reference also requires it to be
inside the Aria visibility mask, which needs the Aria calibration and is NOT applied here) and, except the
wrist, when its manual 2D point exists and lies within ``reproj_error_px`` (30) of the projection. A hand
needs ≥ ``min_valid_joints`` such joints; the others are zero and ``False`` in ``extra["joints3d_valid"]``.
``min_valid_joints`` is ``"authors"`` (default: MORE than 3, i.e. 4, as the WildHands authors train and
evaluate, ap229997/hands ``src/datasets/ego_exo_dataset.py`` L489-490), ``"official"`` (10, the official
hand-pose preparation's ``--valid_kpts_num_thresh``, EGO4D/ego-exo4d-egopose
``handpose/data_preparation/utils/config.py`` L58, applied with ``>=`` in ``dataloader.py`` L217) or a count.
2D keypoints are the manual points where valid, else the projection; the box is their tight box
(``box_pad`` per side, 0 = none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.datasets.base import (
    DatasetFileError,
    DatasetFormatError,
    HandDataset,
    in_image,
    keypoint_box,
    load_rgb,
    openpose_to_mano21,
    read_json,
    require_keys,
)
from training.sample import HandSample
from wildhands_core.camera import project_points
from wildhands_core.constants import NUM_JOINTS

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
#: Valid joints a hand needs, by rule name: the authors' (> 3) and the official preparation's (>= 10).
MIN_VALID_JOINTS = {"authors": 4, "official": 10}
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


def min_valid_joints_count(rule: int | str) -> int:
    """The number of valid joints a hand needs: ``"authors"`` → 4, ``"official"`` → 10, or a count ≥ 1."""
    names = sorted(MIN_VALID_JOINTS)
    if isinstance(rule, str):
        if rule not in MIN_VALID_JOINTS:
            raise ValueError(f"min_valid_joints: {rule!r} is neither a count nor one of {names}")
        return MIN_VALID_JOINTS[rule]
    if isinstance(rule, bool) or not isinstance(rule, int | np.integer) or rule < 1:
        raise ValueError(f"min_valid_joints must be a count >= 1 or one of {names}, got {rule!r}")
    return int(rule)


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
        min_valid_joints: int | str = "authors",
        box_pad: float = 0.0,
        images_dir: str | Path | None = None,
        image_wh: tuple[int, int] = (512, 512),
        reproj_error_px: float = 30.0,
    ) -> None:
        super().__init__(root)
        self.min_valid_joints = min_valid_joints_count(min_valid_joints)
        min_valid_joints = self.min_valid_joints
        self.box_pad = box_pad
        self.images_dir = Path(images_dir) if images_dir else self.root / "image" / "undistorted" / split
        self.image_wh = tuple(image_wh)
        self.reproj_error_px = float(reproj_error_px)
        self._take_names: dict[str, str] | None = None
        base = self.root / "annotations" / "ego_pose" / split
        ann_dir = base / "hand" / "annotation"
        files = [ann_dir / f"{t}.json" for t in takes] if takes else sorted(ann_dir.glob("*.json"))
        if not files:
            raise DatasetFileError(f"Ego-Exo4D: no annotation JSON in {ann_dir}")
        for path in files:
            take = path.stem
            cam_path = base / "camera_pose" / f"{take}.json"
            cams = read_json(cam_path)
            take_name = self._take_name(take, cams, cam_path)
            cams_aria = [c for c in sorted(cams) if c.startswith("aria") and isinstance(cams[c], dict)]
            cam = camera or next((c for c in cams_aria if "camera_intrinsics" in cams[c]), None)
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
                    self._add(take_name, cam, int(frame), entry, K, Rt, min_valid_joints)

    def _take_name(self, take_uid: str, cams: dict, cam_path: Path) -> str:
        """The take's name: ``metadata.take_name`` of its camera_pose file, else ``<root>/takes.json``."""
        name = (cams.get("metadata") or {}).get("take_name")
        if name:
            return str(name)
        if self._take_names is None:
            takes_path = self.root / "takes.json"
            if not takes_path.is_file():
                raise DatasetFileError(f"Ego-Exo4D: {cam_path} has no metadata.take_name and {takes_path} is "
                                       f"missing (images are keyed by take name)")
            takes = read_json(takes_path)
            self._take_names = {str(t.get("take_uid")): str(t.get("take_name")) for t in takes}
        if take_uid not in self._take_names:
            raise DatasetFormatError(f"{self.root / 'takes.json'}: no take_uid {take_uid}")
        return self._take_names[take_uid]

    def _add(
        self,
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
            if not ok3[0]:  # the reference loader drops a hand without its 3D wrist
                continue
            cam_m = world @ Rt[:, :3].T + Rt[:, 3]
            proj = project_points(cam_m, K)
            kp2, ok2 = egoexo_joints(ann2d, side, ("x", "y"))
            w, h = self.image_wh
            ok2 &= in_image(kp2, w, h)
            with np.errstate(invalid="ignore"):
                close = np.linalg.norm(proj - kp2, axis=1) <= self.reproj_error_px
            close[0] = True  # the wrist is not checked (large ambiguity), as in the reference
            valid = ok3 & in_image(proj, w, h) & close & (ok2 | (np.arange(NUM_JOINTS) == 0))
            if valid.sum() < min_valid:
                continue
            kp = np.where(ok2[:, None], kp2, np.nan_to_num(proj))
            self._records.append(
                _EgoExoRecord(
                    self.images_dir / take / f"{frame:06d}.jpg",
                    f"{take}/{frame:06d}/{side}",
                    side == "right",
                    cam_m * valid[:, None],
                    valid,
                    kp * (ok2 | valid)[:, None],
                    ok2 | valid,
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
