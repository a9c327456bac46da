"""Reading bags of ``wildhands_ros/msg/HandArray`` (hands bags): the source side of both exporters
(``export``: npz + Parquet, ``lerobot_export``: a LeRobot dataset), and what they share: the export
configuration and summary, the episode split, stamp gaps, the bag's transform tree for a target frame, and
the robot hand's retargeting configs (``wildhands_core.retargeting``) when the export adds its action.

Malformed messages (not deserialisable, handedness not 0/1, non-finite values, wrong array sizes, a stamp
already seen) are skipped and counted by reason (``MALFORMED_REASONS``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader

from wildhands_core.gripper import GripperConfig
from wildhands_core.handedness import Handedness
from wildhands_core.stamps import NS_PER_S, stamp_to_ns
from wildhands_core.transforms import TransformBuffer
from wildhands_offline.hand_fields import hand_from_fields
from wildhands_offline.robot_targets import TargetFrame
from wildhands_offline.tf_bag import read_bag_transforms
from wildhands_offline.types import HAND_ARRAY, make_typestore, register_bag_types

MALFORMED_REASONS = ("deserialize", "handedness", "array_size", "non_finite", "duplicate_stamp")


@dataclass
class ExportConfig:
    topic: str | None = None  # None = the only HandArray topic of each bag
    # split an episode where stamps jump by more; None = never (npz), lerobot_export.EPISODE_GAP_S (lerobot)
    episode_gap_s: float | None = None
    overwrite: bool = False
    progress: bool = True
    format: str = "npz"  # "npz" (npz + Parquet per episode) | "lerobot" (a LeRobot v3.0 dataset)
    # Express the hands in this TF frame: from the bag's /tf + /tf_static, or ``extrinsic`` (t_m, q_xyzw) =
    # the camera's pose in it (static; takes precedence over the bag's transform of the camera frame).
    target_frame: str | None = None
    extrinsic: tuple[np.ndarray, np.ndarray] | None = None
    tf_max_gap_s: float = 1.0  # /tf samples further apart are not interpolated across ("stale")
    tf_max_extrapolation_s: float = 0.0  # tf2 does not extrapolate
    gripper: GripperConfig = field(default_factory=GripperConfig)
    plot: bool = False  # a PNG per episode (wrist trajectory, aperture, confidence)
    # LeRobot only: image topic (None = the only Image/CompressedImage topic), fps (None = from the
    # stamps), the task text of every episode
    image_topic: str | None = None
    fps: int | None = None
    task: str = "hand demonstration"
    # a robot hand following each side (``wildhands_core.retargeting``): a catalogue name, or a config of
    # one's own (+ URDF); adds its joint positions (npz/Parquet: robot_hand_q_{left,right}; LeRobot:
    # action.robot_hand), joint names in the metadata
    robot_hand: str = ""
    robot_hand_config: str = ""
    robot_hand_urdf: str = ""


@dataclass
class ExportSummary:
    output: str
    episodes: list[dict] = field(default_factory=list)  # name, bag, frames, hands, first/last stamp
    messages: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    transform_missing: dict[str, int] = field(default_factory=dict)  # frames, by reason
    target_frame: str | None = None
    format: str = "npz"
    robot_hand: dict = field(default_factory=dict)  # robot name and joint names per side, when exported

    def to_dict(self) -> dict:
        return asdict(self)


def _hand_row(h) -> dict:
    """One Hand message -> hand-array values; ValueError (reason in args[1]) when malformed."""
    try:
        est = hand_from_fields(h)
    except ValueError as exc:
        reason = "handedness" if "handedness" in str(exc) else "array_size"
        raise ValueError(str(exc), reason) from exc
    row = {
        "handedness": int(Handedness.of(est.is_right)),
        "is_right": est.is_right,
        "track_id": est.track_id,
        "confidence": est.confidence,
        "joints_m": est.joints_m,
        "keypoints_px": est.keypoints_px,
        "wrist_position_m": np.asarray([h.wrist_pose.position.x, h.wrist_pose.position.y,
                                        h.wrist_pose.position.z]),
        "wrist_quat_xyzw": np.asarray([h.wrist_pose.orientation.x, h.wrist_pose.orientation.y,
                                       h.wrist_pose.orientation.z, h.wrist_pose.orientation.w]),
        "global_orient_aa": est.global_orient_aa,
        "hand_pose_aa": est.hand_pose_aa,
        "betas": est.betas,
        "mano_translation_m": est.transl_m,
        "grasp_prob": est.grasp_prob,
        "grasp_class": int(h.grasp_class),
        "box_xyxy_px": est.box_xyxy_px,
        "crop_xyxy_px": est.crop_xyxy_px,
    }
    for k, v in row.items():
        if not np.all(np.isfinite(np.asarray(v, np.float64))):
            raise ValueError(f"Hand.{k} has non-finite values", "non_finite")
    return row


def read_hands_bag(path: Path, cfg: ExportConfig, malformed: Counter) -> tuple[list[dict], str]:
    """Valid HandArray messages of one bag as frame dicts sorted by stamp, and the topic read."""
    from tqdm import tqdm

    ts = make_typestore()
    frames: dict[int, dict] = {}
    with Reader(path) as reader:
        register_bag_types(ts, reader.connections)
        conns = [c for c in reader.connections if c.msgtype == HAND_ARRAY
                 and (cfg.topic is None or c.topic == cfg.topic)]
        topics = sorted({c.topic for c in conns})
        if len(topics) != 1:
            raise ValueError(f"{path}: {len(topics)} HandArray topics {topics}; choose one (--topic)")
        bar = tqdm(total=sum(c.msgcount for c in conns), unit="msg", desc=f"export {path.name}",
                   disable=not cfg.progress)
        for _conn, log_time, raw in reader.messages(connections=conns):
            bar.update(1)
            try:
                msg = ts.deserialize_cdr(raw, HAND_ARRAY)
            except Exception:
                malformed["deserialize"] += 1
                continue
            stamp = stamp_to_ns(msg.header.stamp)
            try:
                hands = [_hand_row(h) for h in msg.hands]
            except ValueError as exc:
                malformed[exc.args[1] if len(exc.args) > 1 else "array_size"] += 1
                continue
            if stamp in frames:
                malformed["duplicate_stamp"] += 1
                continue
            frames[stamp] = {"stamp_ns": stamp, "log_time_ns": int(log_time), "frame_id": msg.header.frame_id,
                             "size": (int(msg.image_width), int(msg.image_height)), "hands": hands}
        bar.close()
    return [frames[s] for s in sorted(frames)], topics[0]


def split_episodes(stamps_ns: list[int], gap_s: float | None) -> list[slice]:
    """Slices of consecutive stamps (sorted, ns) with no step larger than ``gap_s`` seconds."""
    if not stamps_ns:
        return []
    cuts = [0]
    if gap_s is not None:
        d = np.diff(np.asarray(stamps_ns, np.int64))
        cuts += [int(i) + 1 for i in np.nonzero(d > gap_s * NS_PER_S)[0]]
    cuts.append(len(stamps_ns))
    return [slice(a, b) for a, b in itertools.pairwise(cuts)]


#: Frame arrays of ``robot_targets`` written to the frames Parquet.
ROBOT_FRAME_ARRAYS = ("transform_ok", "side_valid", "wrist_target_pose", "gripper_aperture_m",
                      "gripper_command", "gripper_closed")


def stamp_gaps(stamps_ns: np.ndarray, factor: float = 1.5) -> list[dict]:
    """Steps between consecutive stamps longer than ``factor`` x the median step: where frames are missing
    (``after_index``: the frame before the gap, ``gap_s``, ``missing_frames`` estimated)."""
    d = np.diff(np.asarray(stamps_ns, np.int64))
    if d.size == 0:
        return []
    med = float(np.median(d))
    return [{"after_index": int(i), "gap_s": float(d[i]) / NS_PER_S,
             "missing_frames": max(round(d[i] / med) - 1, 1)}
            for i in np.nonzero(d > factor * med)[0]] if med > 0 else []


def side_confidence(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """(F, 2) confidence of the most confident LEFT / RIGHT hand, NaN where none."""
    side = arrays["hand_index_by_side"]
    conf = np.full(side.shape, np.nan, np.float32)
    conf[side >= 0] = arrays["confidence"][side[side >= 0]]
    return conf


def robot_hand_configs(cfg: ExportConfig) -> dict:
    """The robot hand's retargeting configs per side (True = right) of ``cfg``, {} without one; raises
    naming the unknown robot (with the available ones) or the file that does not load."""
    if not (cfg.robot_hand or cfg.robot_hand_config):
        return {}
    from wildhands_core.retargeting.config import configs_for

    return configs_for(robot=cfg.robot_hand, config=cfg.robot_hand_config, urdf=cfg.robot_hand_urdf)


def target_for_bag(bag: Path, cfg: ExportConfig, camera_frames: set[str],
                   malformed: Counter) -> TargetFrame | None:
    """The bag's transform tree (and the CLI extrinsic) when ``cfg.target_frame`` is set."""
    if cfg.target_frame is None:
        return None
    buf = TransformBuffer(max_extrapolation_s=cfg.tf_max_extrapolation_s, max_gap_s=cfg.tf_max_gap_s)
    read_bag_transforms(bag, buf, malformed)
    if cfg.extrinsic is not None:
        for cam in camera_frames:
            buf.add(cfg.target_frame, cam, 0, cfg.extrinsic[0], cfg.extrinsic[1], static=True)
    return TargetFrame(cfg.target_frame, buf)


