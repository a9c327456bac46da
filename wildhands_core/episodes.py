"""Per-episode hand arrays for learning (numpy ``.npz`` + Parquet): the one writer of the bag exporter
(``wildhands_offline.export``) and of ``wildhands-video``. ROS-free.

    frames = [{"stamp_ns": ..., "log_time_ns": ..., "size": (W, H), "hands": [hand_row(est), ...]}, ...]
    write_episode(out_dir, "run1_ep000", frames, frame_id="camera_optical")
    # or, with columns added to the arrays (e.g. the bag exporter's robot targets):
    arrays = episode_arrays(frames); arrays.update(...)
    write_episode_arrays(out_dir, name, arrays, frame_id, hand_columns=[*HAND_ARRAYS, ...], ...)

writes ``<name>.npz`` (every array below, plus ``frame_id`` (str) and ``grasp_class_names``),
``<name>_hands.parquet`` (one row per hand: the hand arrays, multi-dimensional ones flattened row-major into
fixed-size lists, their shapes in the schema metadata ``shape.<column>``) and ``<name>_frames.parquet``
(one row per image: the frame arrays).

Frame arrays (F = images in the episode, including images with no hand):
    frame_stamp_ns      (F,)      int64    image stamp, ns (header stamp; for a video, its time stamp)
    frame_log_time_ns   (F,)      int64    bag log time of the HandArray / wall time the frame was read, ns
    image_size_px       (F, 2)    int32    (width, height) of the image, pixels
    frame_num_hands     (F,)      int32    hands in the image
    hand_index_by_side  (F, 2)    int64    row (into the hand arrays) of the most confident LEFT (column 0) /
                                           RIGHT (column 1) hand of the image, -1 when absent
Hand arrays (N = hands in the episode, in image order then message order):
    frame_index         (N,)      int64    row of the hand's image in the frame arrays
    stamp_ns            (N,)      int64    image stamp, ns
    handedness          (N,)      uint8    0 = LEFT, 1 = RIGHT (``is_right`` (N,) bool as well)
    track_id            (N,)      int32    tracker id, -1 without tracking
    confidence          (N,)      float32  [0, 1]
    joints_m            (N, 21, 3) float32 metres, camera optical frame (x right, y down, z forward), MANO21
    keypoints_px        (N, 21, 2) float32 pixels of the original image (centre of top-left pixel = (0, 0))
    wrist_position_m    (N, 3)    float32  metres, camera frame (= joints_m[:, 0])
    wrist_quat_xyzw     (N, 4)    float32  wrist orientation (MANO global orientation) in the camera frame
    global_orient_aa    (N, 3)    float32  MANO global orientation, axis-angle, radians
    hand_pose_aa        (N, 45)   float32  MANO articulations (15 x axis-angle, radians, relative to the mean
                                           pose: smplx flat_hand_mean=False)
    betas               (N, 10)   float32  MANO shape
    mano_translation_m  (N, 3)    float32  metres, camera frame (joints = MANO(pose, betas) + this)
    grasp_prob          (N, 9)    float32  grasp-class probabilities, ``wildhands_core.constants
                                           .GRASP_CLASS_NAMES`` order; ``grasp_class`` (N,) uint8 = argmax
    box_xyxy_px, crop_xyxy_px (N, 4) float32  hand box / network crop, pixels
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from wildhands_core.constants import (
    GRASP_CLASS_NAMES,
    NUM_BETAS,
    NUM_GRASP_CLASSES,
    NUM_HAND_POSE,
    NUM_JOINTS,
)
from wildhands_core.estimate import HandEstimate
from wildhands_core.handedness import Handedness

#: Hand arrays: name -> (per-hand shape, dtype).
HAND_ARRAYS: dict[str, tuple[tuple[int, ...], type]] = {
    "frame_index": ((), np.int64),
    "stamp_ns": ((), np.int64),
    "handedness": ((), np.uint8),
    "is_right": ((), np.bool_),
    "track_id": ((), np.int32),
    "confidence": ((), np.float32),
    "joints_m": ((NUM_JOINTS, 3), np.float32),
    "keypoints_px": ((NUM_JOINTS, 2), np.float32),
    "wrist_position_m": ((3,), np.float32),
    "wrist_quat_xyzw": ((4,), np.float32),
    "global_orient_aa": ((3,), np.float32),
    "hand_pose_aa": ((NUM_HAND_POSE,), np.float32),
    "betas": ((NUM_BETAS,), np.float32),
    "mano_translation_m": ((3,), np.float32),
    "grasp_prob": ((NUM_GRASP_CLASSES,), np.float32),
    "grasp_class": ((), np.uint8),
    "box_xyxy_px": ((4,), np.float32),
    "crop_xyxy_px": ((4,), np.float32),
}
FRAME_ARRAYS: dict[str, tuple[tuple[int, ...], type]] = {
    "frame_stamp_ns": ((), np.int64),
    "frame_log_time_ns": ((), np.int64),
    "image_size_px": ((2,), np.int32),
    "frame_num_hands": ((), np.int32),
    "hand_index_by_side": ((2,), np.int64),
}

def hand_row(est: HandEstimate) -> dict:
    """The hand-array values (all but ``frame_index`` / ``stamp_ns``) of one estimate; the wrist pose as the
    node publishes it (position = wrist joint, orientation = MANO global orientation)."""
    joints = np.asarray(est.joints_m, np.float64).reshape(NUM_JOINTS, 3)
    return {
        "handedness": int(Handedness.of(est.is_right)),
        "is_right": bool(est.is_right),
        "track_id": int(est.track_id),
        "confidence": float(est.confidence),
        "joints_m": joints,
        "keypoints_px": est.keypoints_px,
        "wrist_position_m": joints[0],
        "wrist_quat_xyzw": est.wrist_quat_xyzw,
        "global_orient_aa": est.global_orient_aa,
        "hand_pose_aa": est.hand_pose_aa,
        "betas": est.betas,
        "mano_translation_m": est.transl_m,
        "grasp_prob": est.grasp_prob,
        "grasp_class": est.grasp_class,
        "box_xyxy_px": est.box_xyxy_px,
        "crop_xyxy_px": est.crop_xyxy_px,
    }


def episode_arrays(frames: list[dict]) -> dict[str, np.ndarray]:
    """The frame and hand arrays (module docstring) of one episode's frame dicts."""
    n_hands = sum(len(f["hands"]) for f in frames)
    out = {k: np.zeros((len(frames), *shape), dt) for k, (shape, dt) in FRAME_ARRAYS.items()}
    out.update({k: np.zeros((n_hands, *shape), dt) for k, (shape, dt) in HAND_ARRAYS.items()})
    out["hand_index_by_side"][:] = -1
    row = 0
    for fi, f in enumerate(frames):
        out["frame_stamp_ns"][fi] = f["stamp_ns"]
        out["frame_log_time_ns"][fi] = f["log_time_ns"]
        out["image_size_px"][fi] = f["size"]
        out["frame_num_hands"][fi] = len(f["hands"])
        best = [-1.0, -1.0]
        for h in f["hands"]:
            out["frame_index"][row] = fi
            out["stamp_ns"][row] = f["stamp_ns"]
            for k, v in h.items():
                out[k][row] = np.asarray(v).reshape(HAND_ARRAYS[k][0])
            side = int(h["is_right"])
            if h["confidence"] > best[side]:
                best[side] = h["confidence"]
                out["hand_index_by_side"][fi, side] = row
            row += 1
    return out


def write_parquet(path: Path, arrays: dict[str, np.ndarray], names: Iterable[str]) -> None:
    """The arrays ``names`` of ``arrays`` as one Parquet table (see the module docstring)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {}
    for k in names:
        a = arrays[k]
        if a.ndim == 1:
            cols[k] = pa.array(a)
        else:
            flat = a.reshape(len(a), int(np.prod(a.shape[1:])))  # also with no hand (len 0)
            cols[k] = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])
    meta = {f"shape.{k}": str(list(arrays[k].shape[1:])) for k in cols}
    table = pa.table(cols).replace_schema_metadata(meta)
    pq.write_table(table, path)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez``'s file (one uncompressed ``<key>.npy`` per array, read by ``np.load``) with a fixed
    entry time (1980-01-01) instead of the clock's: equal arrays give equal bytes, whenever written."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def write_episode_arrays(
    out_dir: Path,
    name: str,
    arrays: dict[str, np.ndarray],
    frame_id: str,
    hand_columns: Iterable[str] = HAND_ARRAYS,
    frame_columns: Iterable[str] = FRAME_ARRAYS,
    npz_strings: dict[str, str] | None = None,
) -> None:
    """``<name>.npz`` (every array of ``arrays``, then ``frame_id``, the ``npz_strings`` and
    ``grasp_class_names``), ``<name>_hands.parquet`` (the ``hand_columns``) and ``<name>_frames.parquet``
    (the ``frame_columns``) in ``out_dir``."""
    out_dir = Path(out_dir)
    strings = {k: np.asarray(v) for k, v in (npz_strings or {}).items()}
    save_npz(out_dir / f"{name}.npz", {**arrays, "frame_id": np.asarray(frame_id), **strings,
                                      "grasp_class_names": np.asarray(GRASP_CLASS_NAMES)})
    write_parquet(out_dir / f"{name}_hands.parquet", arrays, hand_columns)
    write_parquet(out_dir / f"{name}_frames.parquet", arrays, frame_columns)


def write_episode(out_dir: Path, name: str, frames: list[dict], frame_id: str) -> dict[str, np.ndarray]:
    """``<name>.npz``, ``<name>_hands.parquet`` and ``<name>_frames.parquet`` of one episode in ``out_dir``;
    returns the arrays."""
    arrays = episode_arrays(frames)
    write_episode_arrays(out_dir, name, arrays, frame_id)
    return arrays
