"""Bags of ``wildhands_ros/msg/HandArray`` -> per-episode arrays (numpy ``.npz`` and Parquet) for learning.

    summary = export_bags(["run1_hands"], "dataset_dir", ExportConfig(episode_gap_s=2.0))

An episode is one bag, split where consecutive image stamps are more than ``episode_gap_s`` apart.
Messages are ordered by header stamp (the image's); a second message with an already seen stamp is
counted (``duplicate_stamp``) and skipped. OUT (a directory, written under a temporary name and renamed at
the end) holds per episode ``<name>.npz``, ``<name>_hands.parquet`` (one row per hand, the hand arrays,
multi-dimensional ones flattened row-major into fixed-size lists), ``<name>_frames.parquet`` (one
row per image, the "frame" arrays) and one ``summary.json`` (episodes, counts of malformed messages).
``<name>`` = ``<bag directory name>_ep<k>`` (k = 000, 001, ...).

The arrays and files are those of ``wildhands_core.episodes`` (its module docstring lists them; the same
writer serves ``wildhands-video``), with ``frame_stamp_ns`` the image header stamp and
``frame_log_time_ns`` the bag log time of the HandArray.
Also ``frame_id`` (str, the camera optical frame of the episode's first image) and ``grasp_class_names`` in
the npz. Malformed messages (not deserialisable, handedness not 0/1, non-finite values, wrong array
sizes) are skipped and counted by reason.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader

from wildhands_core.episodes import FRAME_ARRAYS, HAND_ARRAYS, episode_arrays, write_episode  # noqa: F401
from wildhands_ros.bag.atomic import atomic_path, write_json_atomic
from wildhands_ros.bag.types import HAND_ARRAY, make_typestore, register_bag_types
from wildhands_ros.hand_fields import RIGHT, hand_from_fields

MALFORMED_REASONS = ("deserialize", "handedness", "array_size", "non_finite", "duplicate_stamp")

@dataclass
class ExportConfig:
    topic: str | None = None  # None = the only HandArray topic of each bag
    episode_gap_s: float | None = None  # split an episode where stamps jump by more; None = never
    overwrite: bool = False
    progress: bool = True


@dataclass
class ExportSummary:
    output: str
    episodes: list[dict] = field(default_factory=list)  # name, bag, frames, hands, first/last stamp
    messages: int = 0
    malformed: dict[str, int] = field(default_factory=dict)

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
        "handedness": RIGHT if est.is_right else 0,
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


def _read_bag(path: Path, cfg: ExportConfig, malformed: Counter) -> tuple[list[dict], str]:
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
            stamp = int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)
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
        cuts += [int(i) + 1 for i in np.nonzero(d > gap_s * 1e9)[0]]
    cuts.append(len(stamps_ns))
    return [slice(a, b) for a, b in itertools.pairwise(cuts)]


def export_bags(in_bags: list[str | Path], out_dir: str | Path, cfg: ExportConfig | None = None,
                on_episode: Callable[[str], None] | None = None) -> ExportSummary:
    """Export the HandArray messages of ``in_bags`` into ``out_dir``; see the module docstring.
    ``on_episode(name)`` is called after each episode written (an exception there aborts: no output)."""
    cfg = cfg if cfg is not None else ExportConfig()
    out_dir = Path(out_dir)
    summary = ExportSummary(output=str(out_dir))
    malformed: Counter[str] = Counter()
    with atomic_path(out_dir, cfg.overwrite) as work:
        work.mkdir()
        for bag in map(Path, in_bags):
            frames, topic = _read_bag(bag, cfg, malformed)
            summary.messages += len(frames)
            stamps = [f["stamp_ns"] for f in frames]
            for k, sl in enumerate(split_episodes(stamps, cfg.episode_gap_s)):
                name = f"{bag.name}_ep{k:03d}"
                ep = frames[sl]
                arrays = write_episode(work, name, ep, ep[0]["frame_id"])
                summary.episodes.append({
                    "name": name, "bag": str(bag), "topic": topic, "frames": len(ep),
                    "hands": int(arrays["frame_index"].size), "first_stamp_ns": ep[0]["stamp_ns"],
                    "last_stamp_ns": ep[-1]["stamp_ns"], "frame_id": ep[0]["frame_id"],
                })
                if on_episode is not None:
                    on_episode(name)
        summary.malformed = {r: malformed[r] for r in MALFORMED_REASONS if malformed[r]}
        write_json_atomic(work / "summary.json", summary.to_dict())
    return summary
