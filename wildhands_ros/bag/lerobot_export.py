"""Bags with images + HandArray -> one LeRobot dataset (format v3.0, ``lerobot_writer``), for imitation
learning.

    wildhands-bag process cam_bag hands_bag --checkpoint m.pt --copy /cam/image_raw   # images carried along
    wildhands-bag export hands_bag OUT --format lerobot [--target-frame base --episode-gap 2.0 --plot]

Rows are the recorded images (the image topic, in log order; frames of the video stream), one episode per
bag or per ``episode_gap_s`` split; each row's hands are the HandArray of the same stamp. An image
without a HandArray (``no_estimate``) or without hands is kept, with its masks False; images that cannot
be decoded, change size, or do not advance the stamp are skipped and counted. Gaps (missing frames) are
listed per episode in ``wildhands_export.json`` (the summary, next to ``meta/``).

Features (``names`` in meta/info.json give every column; side 0 = LEFT hand, 1 = RIGHT hand, the most
confident of that side; target frame = ``target_frame`` or the camera optical frame; zeros where the mask
is False). Policy inputs and targets:
    observation.images.camera   video (H, W, 3)
    observation.state           float32 (266,): per side (left then right) 133 values: valid, confidence,
                                wrist x y z (m), wrist qx qy qz qw, 21 joints x y z (m, MANO21 order),
                                MANO global orient (3, axis-angle, target frame), MANO hand pose (45),
                                MANO betas (10), pinch aperture (m), gripper closed (0/1), gripper command
    action                      float32 (16,): per side wrist target x y z qx qy qz qw + gripper command
                                in [0, 1] (0 closed, 1 open), at the frame's time; shift it with
                                ``delta_timestamps`` for future targets
Not policy inputs (outside ``observation.*`` and ``action``: LeRobot's ``dataset_to_policy_features``
skips them):
    hands_valid                 bool (2,)   hand present (and transform found) per side
    transform_ok                bool (1,)   camera -> target transform found (always True without one)
    estimated                   bool (1,)   a HandArray exists for the image
    stamp_ns                    int64 (1,)  recorded image stamp (LeRobot's ``timestamp`` = frame_index / fps)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader

from wildhands_core.constants import NUM_BETAS, NUM_JOINTS, NUM_MANO_JOINTS
from wildhands_core.stamps import NS_PER_S, stamp_to_ns
from wildhands_core.transforms import TRANSFORM_ERROR_REASONS
from wildhands_ros.bag import frames as frame_io
from wildhands_ros.bag.atomic import atomic_path, write_json_atomic
from wildhands_ros.bag.lerobot_writer import CODEBASE_VERSION, LeRobotWriter
from wildhands_ros.bag.robot_targets import episode_targets
from wildhands_ros.bag.types import COMPRESSED_IMAGE, IMAGE, make_typestore, register_bag_types

VIDEO_KEY = "observation.images.camera"
SIDES = ("left", "right")
IMAGE_REASONS = ("image_deserialize", "image_decode", "image_size", "image_stamp_not_increasing",
                 "hand_array_without_image")


def _side_names(side: str) -> list[str]:
    names = [f"{side}.valid", f"{side}.confidence", *(f"{side}.wrist_{a}" for a in "xyz"),
             *(f"{side}.wrist_q{a}" for a in "xyzw")]
    names += [f"{side}.joint{j}_{a}" for j in range(NUM_JOINTS) for a in "xyz"]
    names += [f"{side}.global_orient_{a}" for a in "xyz"]
    names += [f"{side}.hand_pose{j}_{a}" for j in range(1, NUM_MANO_JOINTS) for a in "xyz"]
    names += [f"{side}.beta{k}" for k in range(NUM_BETAS)]
    return names + [f"{side}.pinch_aperture_m", f"{side}.gripper_closed", f"{side}.gripper_command"]


STATE_NAMES = [n for s in SIDES for n in _side_names(s)]
ACTION_NAMES = [f"{s}.{n}" for s in SIDES for n in (*(f"wrist_{a}" for a in "xyz"),
                                                      *(f"wrist_q{a}" for a in "xyzw"), "gripper_command")]
FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [len(STATE_NAMES)], "names": STATE_NAMES},
    "hands_valid": {"dtype": "bool", "shape": [2], "names": list(SIDES)},
    "transform_ok": {"dtype": "bool", "shape": [1], "names": None},
    "estimated": {"dtype": "bool", "shape": [1], "names": None},
    "stamp_ns": {"dtype": "int64", "shape": [1], "names": None},
    "action": {"dtype": "float32", "shape": [len(ACTION_NAMES)], "names": ACTION_NAMES},
}


def _image_connection(reader, topic: str | None, bag: Path):
    conns = [c for c in reader.connections if c.msgtype in (IMAGE, COMPRESSED_IMAGE)
             and (topic is None or c.topic == topic)]
    topics = sorted({c.topic for c in conns})
    if len(topics) != 1:
        raise ValueError(f"{bag}: {len(topics)} image topics {topics} for the video stream; choose one "
                         "with --image-topic (record the images with the hands: wildhands-bag process "
                         "--copy TOPIC)")
    return [c for c in conns if c.topic == topics[0]]


def _image_fps(bags: list[Path], topic: str | None) -> int:
    """The camera's frame rate: 1 / median step of the image stamps (a pass over the image headers)."""
    steps = []
    for bag in bags:
        ts = make_typestore()
        with Reader(bag) as reader:
            register_bag_types(ts, reader.connections)
            stamps = []
            for conn, _t, raw in reader.messages(connections=_image_connection(reader, topic, bag)):
                try:
                    h = ts.deserialize_cdr(raw, conn.msgtype).header.stamp
                except Exception:
                    continue  # counted by the export pass
                stamps.append(stamp_to_ns(h))
            d = np.diff(np.asarray(stamps, np.int64))
            steps.append(d[d > 0])
    steps = np.concatenate(steps) if steps else np.zeros(0)
    if steps.size == 0:
        raise ValueError("cannot tell the frame rate (fewer than 2 images); give --fps")
    return max(round(NS_PER_S / float(np.median(steps))), 1)


def _episode_columns(frames: list[dict], by_stamp: dict[int, dict], cfg, target, missing: Counter,
                     stamps: list[int]) -> tuple[dict[str, np.ndarray], dict, dict]:
    """LeRobot columns of one episode whose images have ``stamps``."""
    from wildhands_core.episodes import episode_arrays
    from wildhands_ros.bag.export import stamp_gaps

    rows = [by_stamp.get(s) or {"stamp_ns": s, "log_time_ns": 0, "frame_id": "", "size": (0, 0), "hands": []}
            for s in stamps]
    estimated = np.array([s in by_stamp for s in stamps])
    arrays = episode_arrays(rows)
    cam = next((r["frame_id"] for r in rows if r["frame_id"]), "")
    arrays.update(episode_targets(arrays, [r["frame_id"] or cam for r in rows], target, cfg.gripper, missing))
    F = len(stamps)
    state = np.zeros((F, 2, 133), np.float32)
    action = np.zeros((F, 2, 8), np.float32)
    valid = arrays["side_valid"] & estimated[:, None]
    joints = arrays.get("joints_target_m", arrays["joints_m"])
    go = arrays.get("global_orient_target_aa", arrays["global_orient_aa"])
    for f, s in zip(*np.nonzero(valid), strict=True):
        h = arrays["hand_index_by_side"][f, s]
        pose = arrays["wrist_target_pose"][f, s]
        g = [arrays["gripper_aperture_m"][f, s], float(arrays["gripper_closed"][f, s]),
             arrays["gripper_command"][f, s]]
        state[f, s] = np.concatenate([[1.0, arrays["confidence"][h]], pose, joints[h].reshape(-1), go[h],
                                      arrays["hand_pose_aa"][h], arrays["betas"][h], g])
        action[f, s] = np.concatenate([pose, [g[2]]])
    cols = {"observation.state": state.reshape(F, -1), "hands_valid": valid,
            "transform_ok": arrays["transform_ok"][:, None],
            "estimated": estimated[:, None],
            "stamp_ns": np.asarray(stamps, np.int64)[:, None], "action": action.reshape(F, -1)}
    info = {"frames": F, "frames_without_estimate": int(F - estimated.sum()),
            "frames_without_hands": int(np.sum(~valid.any(1))),
            "transform_missing": int(np.sum(~arrays["transform_ok"])),
            "gaps": stamp_gaps(np.asarray(stamps, np.int64)), "first_stamp_ns": int(stamps[0]),
            "last_stamp_ns": int(stamps[-1]), "frame_id": cam}
    return cols, info, arrays


def export_lerobot(in_bags, out_dir, cfg, on_episode: Callable[[str], None] | None = None):
    """See the module docstring; returns the ``ExportSummary``."""
    from wildhands_ros.bag.export import ExportSummary, _read_bag

    out_dir = Path(out_dir)
    summary = ExportSummary(output=str(out_dir), target_frame=cfg.target_frame, format="lerobot")
    malformed: Counter[str] = Counter()
    bags = [Path(b) for b in in_bags]
    read = [_read_bag(b, cfg, malformed) for b in bags]
    fps = cfg.fps if cfg.fps is not None else _image_fps(bags, cfg.image_topic)
    with atomic_path(out_dir, cfg.overwrite) as work:
        run = _LeRobotRun(work, cfg, fps, summary, on_episode)
        for bag, (hand_frames, topic) in zip(bags, read, strict=True):
            run.export_bag(bag, hand_frames, topic, malformed)
        if run.writer is None:
            raise ValueError("no usable image in the input bags; nothing to export")
        run.writer.finalize()
        summary.malformed = {r: n for r, n in
                             [*((r, malformed[r]) for r in (*_malformed_reasons(), "tf_message")),
                              *((r, run.skipped[r]) for r in IMAGE_REASONS)] if n}
        summary.transform_missing = {r: run.missing[r] for r in TRANSFORM_ERROR_REASONS if run.missing[r]}
        d = summary.to_dict()
        d.update({"codebase_version": CODEBASE_VERSION, "fps": fps, "task": cfg.task})
        write_json_atomic(work / "wildhands_export.json", d)
    return summary


class _LeRobotRun:
    """One LeRobot export in progress: the writer (made at the first usable image) and the counts."""

    def __init__(self, work: Path, cfg, fps: int, summary, on_episode: Callable[[str], None] | None) -> None:
        self.work, self.cfg, self.fps, self.summary, self.on_episode = work, cfg, fps, summary, on_episode
        self.writer: LeRobotWriter | None = None
        self.missing: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def export_bag(self, bag: Path, hand_frames: list[dict], topic: str, malformed: Counter) -> None:
        """The images of ``bag`` with the HandArray frames of the same stamps, as one or more episodes."""
        from tqdm import tqdm

        from wildhands_ros.bag.export import target_for_bag

        cfg, skipped = self.cfg, self.skipped
        self.summary.messages += len(hand_frames)
        by_stamp = {f["stamp_ns"]: f for f in hand_frames}
        target = target_for_bag(bag, cfg, {f["frame_id"] for f in hand_frames}, malformed)
        episode = _Episode(bag, topic, hand_frames, by_stamp, target)
        used: set[int] = set()
        ts = make_typestore()
        with Reader(bag) as reader:
            register_bag_types(ts, reader.connections)
            conns = _image_connection(reader, cfg.image_topic, bag)
            bar = tqdm(total=sum(c.msgcount for c in conns), unit="img", desc=f"lerobot {bag.name}",
                       disable=not cfg.progress)
            for conn, _t, raw in reader.messages(connections=conns):
                bar.update(1)
                try:
                    msg = ts.deserialize_cdr(raw, conn.msgtype)
                except Exception:
                    skipped["image_deserialize"] += 1
                    continue
                stamp = stamp_to_ns(msg.header.stamp)
                try:
                    rgb = (frame_io.image_to_rgb(msg) if conn.msgtype == IMAGE
                           else frame_io.compressed_to_rgb(msg))
                except frame_io.RejectedFrameError:
                    skipped["image_decode"] += 1
                    continue
                if self._add_image(episode, stamp, rgb):
                    used.add(stamp)
            bar.close()
            if episode.stamps:
                self._close_episode(episode)
            skipped["hand_array_without_image"] += len(set(by_stamp) - used)

    def _add_image(self, episode: _Episode, stamp: int, rgb: np.ndarray) -> bool:
        """One decoded image into the current episode (a new one after a gap); False when skipped."""
        if self.writer is None:
            size = (rgb.shape[1], rgb.shape[0])
            self.writer = LeRobotWriter(self.work, self.fps, FEATURES, VIDEO_KEY, size)
        writer, stamps = self.writer, episode.stamps
        if rgb.shape[:2] != (writer.image_size_wh[1], writer.image_size_wh[0]):
            self.skipped["image_size"] += 1
            return False
        if stamps and stamp <= stamps[-1]:
            self.skipped["image_stamp_not_increasing"] += 1
            return False
        gap = self.cfg.episode_gap_s
        if stamps and gap is not None and stamp - stamps[-1] > gap * NS_PER_S:
            self._close_episode(episode)
        if not stamps:
            writer.begin_episode()
        writer.add_image(rgb)
        stamps.append(stamp)
        return True

    def _close_episode(self, e: _Episode) -> None:
        """End the episode of ``e.stamps``: its columns, summary entry, plot; ``e`` then starts the next."""
        from wildhands_ros.bag.export import _side_confidence

        cfg = self.cfg
        cols, info, arrays = _episode_columns(e.hand_frames, e.by_stamp, cfg, e.target, self.missing,
                                              e.stamps)
        name = f"{e.bag.name}_ep{e.index:03d}"
        row = self.writer.end_episode(cols, cfg.task, {"source_bag": str(e.bag), "source_name": name})
        self.summary.episodes.append({"name": name, "episode_index": row["episode_index"],
                                      "bag": str(e.bag), "topic": e.topic, **info,
                                      "hands": int(arrays["frame_index"].size)})
        if cfg.plot:
            from wildhands_ros.bag.plot import plot_episode

            (self.work / "plots").mkdir(exist_ok=True)
            plot_episode(self.work / "plots" / f"episode_{row['episode_index']:06d}.png", name,
                         arrays["frame_stamp_ns"], arrays["wrist_target_pose"],
                         arrays["gripper_aperture_m"], _side_confidence(arrays),
                         cfg.target_frame or info["frame_id"])
        if self.on_episode is not None:
            self.on_episode(name)
        e.index += 1
        e.stamps.clear()


@dataclass
class _Episode:
    """The bag being exported and the image stamps of its current episode (``index``: 0, 1, ...)."""

    bag: Path
    topic: str
    hand_frames: list[dict]
    by_stamp: dict[int, dict]
    target: object
    stamps: list[int] = field(default_factory=list)
    index: int = 0


def _malformed_reasons() -> tuple[str, ...]:
    from wildhands_ros.bag.export import MALFORMED_REASONS

    return MALFORMED_REASONS


__all__ = ["ACTION_NAMES", "FEATURES", "STATE_NAMES", "VIDEO_KEY", "export_lerobot"]
