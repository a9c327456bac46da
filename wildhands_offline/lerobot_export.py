"""Bags with images + HandArray -> one LeRobot dataset (format v3.0, ``lerobot_writer``), for imitation
learning.

    wildhands-bag process cam_bag hands_bag --checkpoint m.pt --copy /cam/image_raw   # images carried along
    wildhands-bag export hands_bag OUT --format lerobot [--target-frame base --episode-gap 2.0 --plot]

Rows are the recorded images (the image topic, in log order; frames of the video stream); each row's hands
are the HandArray of the same stamp. Time follows the recording: LeRobot's ``timestamp`` is frame_index /
fps (the video is queried at it), so
  - a step between consecutive images longer than ``episode_gap_s`` (default ``EPISODE_GAP_S`` = 0.5 s)
    starts a new episode (one bag is one or more episodes; ``--episode-gap inf`` never splits);
  - a shorter step of k frame periods (k = round(step x fps) > 1: dropped frames) is filled with k - 1
    rows that repeat the previous image, marked ``recorded`` False, their ``stamp_ns`` interpolated and
    their hands missing; ``timestamp`` then stays within half a frame of the recorded stamp minus the
    episode's first (up to the camera's drift from the integer fps; ``max_timestamp_error_s`` per episode
    in the summary). ``fps`` is the camera's rate rounded; a given fps more than 5 % off it is refused.
An image without a HandArray (``no_estimate``) or without hands is kept, with its masks False; images
that cannot be decoded, change size, or do not advance the stamp are skipped and counted. Gaps and filled
frames are listed per episode in ``wildhands_export.json`` (the summary, next to ``meta/``).

Features (``wildhands_offline.lerobot_features``; meta/info.json gives every column's name and unit, the
frame, the joint names and the rotation conventions; ``robot_type`` "human_hands_mano"; side 0 = LEFT
hand, 1 = RIGHT hand, the most confident of that side; target frame = ``target_frame`` or the camera
optical frame). A side without a hand (its valid flag 0, ``hands_valid`` False) keeps its values of the
last frame it was seen in the episode (before the first: the first; never in the episode: the first seen
in the dataset; never at all: 0): the action then says "stay", a policy trains on it without a custom
loss, and the statistics in meta/ are over the frames where the hand was seen only. To leave those frames
out of a loss instead, weight it by ``hands_valid`` (README). Policy inputs and targets:
    observation.images.camera   video (H, W, 3)
    observation.state           float32 (266,): per side (left then right) 133 values: valid, confidence,
                                wrist x y z (m), wrist qx qy qz qw, 21 joints x y z (m, MANO21 order, named),
                                MANO global orient (3, axis-angle, target frame), MANO hand pose (45),
                                MANO betas (10), pinch aperture (m), gripper closed (0/1), gripper command
    action                      float32 (16,): per side wrist target x y z qx qy qz qw + gripper command
                                in [0, 1] (0 closed, 1 open), at the frame's time; shift it with
                                ``delta_timestamps`` for future targets
Not policy inputs (outside ``observation.*`` and ``action``: LeRobot's ``dataset_to_policy_features``
skips them):
    hands_valid                 bool (2,)   hand present (and transform found) per side
    transform_ok                bool (1,)   camera -> target transform found (always True without a target
                                            frame; False on filler rows)
    estimated                   bool (1,)   a HandArray exists for the image
    recorded                    bool (1,)   a recorded image (False: a filler row for a dropped frame)
    stamp_ns                    int64 (1,)  image stamp (ns; interpolated on filler rows)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader

from wildhands_core.stamps import NS_PER_S, stamp_to_ns
from wildhands_core.transforms import TRANSFORM_ERROR_REASONS
from wildhands_offline import frames as frame_io
from wildhands_offline.atomic import atomic_path, write_json_atomic
from wildhands_offline.hands_bag import (
    MALFORMED_REASONS,
    ExportSummary,
    read_hands_bag,
    robot_hand_configs,
    side_confidence,
    stamp_gaps,
    target_for_bag,
)
from wildhands_offline.lerobot_features import (
    ACTION_NAMES,
    ROBOT_TYPE,
    SIDE_ACTION_SIZE,
    SIDE_STATE_SIZE,
    STATE_NAMES,
    lerobot_features,
)
from wildhands_offline.lerobot_writer import CODEBASE_VERSION, LeRobotWriter
from wildhands_offline.robot_targets import episode_targets
from wildhands_offline.types import COMPRESSED_IMAGE, IMAGE, make_typestore, register_bag_types

VIDEO_KEY = "observation.images.camera"
#: Default episode split (s): a longer step between consecutive images starts a new episode.
EPISODE_GAP_S = 0.5
IMAGE_REASONS = ("image_deserialize", "image_decode", "image_size", "image_stamp_not_increasing",
                 "hand_array_without_image")


def _image_connection(reader, topic: str | None, bag: Path):
    conns = [c for c in reader.connections if c.msgtype in (IMAGE, COMPRESSED_IMAGE)
             and (topic is None or c.topic == topic)]
    topics = sorted({c.topic for c in conns})
    if len(topics) != 1:
        raise ValueError(f"{bag}: {len(topics)} image topics {topics} for the video stream; choose one "
                         "with --image-topic (record the images with the hands: wildhands-bag process "
                         "--copy TOPIC)")
    return [c for c in conns if c.topic == topics[0]]


def _image_rate_hz(bags: list[Path], topic: str | None) -> float:
    """The camera's frame rate (Hz): 1 / median step of the image stamps (a pass over the image headers)."""
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
        return float("nan")
    return NS_PER_S / float(np.median(steps))


def dataset_fps(rate_hz: float, fps: int | None) -> int:
    """The dataset's integer frame rate: ``fps`` when given, else the camera's ``rate_hz`` rounded. A
    given ``fps`` more than 5 % off the camera's rate is refused: it would re-time every frame."""
    if fps is None:
        if not np.isfinite(rate_hz):
            raise ValueError("cannot tell the frame rate (fewer than 2 images); give --fps")
        return max(round(rate_hz), 1)
    if np.isfinite(rate_hz) and abs(fps - rate_hz) > 0.05 * rate_hz:
        raise ValueError(f"the images come at {rate_hz:.2f} Hz: a {fps} fps dataset would re-time them "
                         "(LeRobot's timestamp is frame_index / fps); leave --fps out or give the camera's "
                         "rate")
    return fps


def episode_columns(by_stamp: dict[int, dict], cfg, target, missing: Counter, stamps: list[int],
                     recorded: list[bool], fps: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                              dict, dict]:
    """LeRobot columns of one episode whose rows have ``stamps`` (``recorded`` False: a filler row that
    repeats the previous image; its stamp is interpolated), their validity masks (for the writer), the
    summary entry, and the arrays of the recorded rows."""
    from wildhands_core.episodes import episode_arrays

    F = len(stamps)
    all_stamps, rec = np.asarray(stamps, np.int64), np.asarray(recorded, bool)
    rec_stamps = all_stamps[rec].tolist()
    rows = [by_stamp.get(s) or {"stamp_ns": s, "log_time_ns": 0, "frame_id": "", "size": (0, 0), "hands": []}
            for s in rec_stamps]
    estimated = np.zeros(F, bool)
    estimated[rec] = [s in by_stamp for s in rec_stamps]
    arrays = episode_arrays(rows)
    cam = next((r["frame_id"] for r in rows if r["frame_id"]), "")
    arrays.update(episode_targets(arrays, [r["frame_id"] or cam for r in rows], target, cfg.gripper, missing))
    transform_ok = np.zeros(F, bool)
    transform_ok[rec] = arrays["transform_ok"]
    valid = np.zeros((F, 2), bool)
    valid[rec] = arrays["side_valid"]
    valid &= estimated[:, None]
    state = np.zeros((F, 2, SIDE_STATE_SIZE), np.float32)
    action = np.zeros((F, 2, SIDE_ACTION_SIZE), np.float32)
    joints = arrays.get("joints_target_m", arrays["joints_m"])
    go = arrays.get("global_orient_target_aa", arrays["global_orient_aa"])
    row_of = np.nonzero(rec)[0]  # recorded row r -> dataset row
    for r, s in zip(*np.nonzero(valid[rec]), strict=True):
        h, f = arrays["hand_index_by_side"][r, s], row_of[r]
        pose = arrays["wrist_target_pose"][r, s]
        g = [arrays["gripper_aperture_m"][r, s], float(arrays["gripper_closed"][r, s]),
             arrays["gripper_command"][r, s]]
        state[f, s] = np.concatenate([[1.0, arrays["confidence"][h]], pose, joints[h].reshape(-1), go[h],
                                      arrays["hand_pose_aa"][h], arrays["betas"][h], g])
        action[f, s] = np.concatenate([pose, [g[2]]])
    # per side: the valid flag and the confidence (0 without a hand) are always values; the rest only
    # where the side is valid (held otherwise, and left out of the statistics: LeRobotWriter.end_episode)
    state_valid = np.repeat(valid[:, :, None], SIDE_STATE_SIZE, axis=2)
    state_valid[:, :, :2] = True
    action_valid = np.repeat(valid[:, :, None], SIDE_ACTION_SIZE, axis=2)
    masks = {"observation.state": state_valid.reshape(F, -1), "action": action_valid.reshape(F, -1)}
    cols = {"observation.state": state.reshape(F, -1), "hands_valid": valid,
            "transform_ok": transform_ok[:, None], "estimated": estimated[:, None], "recorded": rec[:, None],
            "stamp_ns": all_stamps[:, None], "action": action.reshape(F, -1)}
    robot_configs = robot_hand_configs(cfg)
    if robot_configs:
        from wildhands_core.retargeting.sequence import robot_hand_action

        q, q_valid, robot_failed = robot_hand_action(arrays, robot_configs)
        cols["action.robot_hand"] = np.zeros((F, q.shape[1]), np.float32)
        masks["action.robot_hand"] = np.zeros((F, q.shape[1]), bool)
        cols["action.robot_hand"][rec], masks["action.robot_hand"][rec] = q, q_valid & estimated[rec, None]
    lag = row_of / fps - (all_stamps[rec] - all_stamps[0]) / NS_PER_S
    info = {"frames": F, "filled_frames": int(F - rec.sum()),
            "frames_without_estimate": int(rec.sum() - estimated.sum()),  # recorded images
            "frames_without_hands": int(np.sum(~valid[rec].any(1))),
            "transform_missing": int(np.sum(~arrays["transform_ok"])),
            "max_timestamp_error_s": float(np.max(np.abs(lag))),
            "gaps": stamp_gaps(np.asarray(rec_stamps, np.int64)), "first_stamp_ns": int(stamps[0]),
            "last_stamp_ns": int(stamps[-1]), "frame_id": cam}
    if robot_configs:
        info["robot_hand_failed"] = robot_failed  # frames whose retargeting failed, by reason
    return cols, masks, info, arrays


def robot_hand_feature(cfg) -> tuple[str, list[str]] | None:
    """(robot, ``action.robot_hand`` column names) of ``cfg``'s robot hand (an ``ExportConfig``), or None."""
    configs = robot_hand_configs(cfg)
    if not configs:
        return None
    from wildhands_core.retargeting.sequence import robot_hand_action_names

    return ", ".join(sorted({c.robot for c in configs.values()})), robot_hand_action_names(configs)


def export_lerobot(in_bags, out_dir, cfg, on_episode: Callable[[str], None] | None = None,
                   part: bool = False):
    """See the module docstring; returns the ``ExportSummary``. ``part``: write the episodes as a part
    (``LeRobotWriter.save_part``) for a merged dataset instead of a dataset."""

    out_dir = Path(out_dir)
    summary = ExportSummary(output=str(out_dir), target_frame=cfg.target_frame, format="lerobot")
    malformed: Counter[str] = Counter()
    bags = [Path(b) for b in in_bags]
    read = [read_hands_bag(b, cfg, malformed) for b in bags]
    fps = dataset_fps(_image_rate_hz(bags, cfg.image_topic), cfg.fps)
    with atomic_path(out_dir, cfg.overwrite) as work:
        cams = sorted({f["frame_id"] for frames, _ in read for f in frames if f["frame_id"]})
        run = _LeRobotRun(work, cfg, fps, summary, on_episode, cfg.target_frame or ", ".join(cams))
        for bag, (hand_frames, topic) in zip(bags, read, strict=True):
            run.export_bag(bag, hand_frames, topic, malformed)
        if run.writer is None:
            raise ValueError("no usable image in the input bags; nothing to export")
        if part:
            run.writer.save_part()
        else:
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

    def __init__(self, work: Path, cfg, fps: int, summary, on_episode: Callable[[str], None] | None,
                 frame: str) -> None:
        self.work, self.cfg, self.fps, self.summary, self.on_episode = work, cfg, fps, summary, on_episode
        self.frame = frame  # the frame of the poses: the target frame or the images' optical frame
        self.writer: LeRobotWriter | None = None
        self.missing: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()

    def export_bag(self, bag: Path, hand_frames: list[dict], topic: str, malformed: Counter) -> None:
        """The images of ``bag`` with the HandArray frames of the same stamps, as one or more episodes."""
        from tqdm import tqdm


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
        """One decoded image into the current episode (a new one after a gap longer than the episode gap;
        frames missing before it filled with the previous image, marked); False when skipped."""
        if self.writer is None:
            size = (rgb.shape[1], rgb.shape[0])
            features = lerobot_features(self.frame, robot_hand_feature(self.cfg))
            self.writer = LeRobotWriter(self.work, self.fps, features, VIDEO_KEY, size, ROBOT_TYPE)
        writer, stamps = self.writer, episode.stamps
        if rgb.shape[:2] != (writer.image_size_wh[1], writer.image_size_wh[0]):
            self.skipped["image_size"] += 1
            return False
        if stamps and stamp <= stamps[-1]:
            self.skipped["image_stamp_not_increasing"] += 1
            return False
        gap = self.cfg.episode_gap_s if self.cfg.episode_gap_s is not None else EPISODE_GAP_S
        if stamps and stamp - stamps[-1] > gap * NS_PER_S:
            self._close_episode(episode)
        if not stamps:
            writer.begin_episode()
        else:  # frame periods since the previous image: one row each, the missing ones filled
            last = stamps[-1]
            slots = max(1, round((stamp - last) * self.fps / NS_PER_S))
            for j in range(1, slots):
                writer.add_image(episode.last_rgb)
                stamps.append(last + (stamp - last) * j // slots)
                episode.recorded.append(False)
        writer.add_image(rgb)
        stamps.append(stamp)
        episode.recorded.append(True)
        episode.last_rgb = rgb
        return True

    def _close_episode(self, e: _Episode) -> None:
        """End the episode of ``e.stamps``: its columns, summary entry, plot; ``e`` then starts the next."""

        cfg = self.cfg
        cols, masks, info, arrays = episode_columns(e.by_stamp, cfg, e.target, self.missing, e.stamps,
                                                     e.recorded, self.fps)
        name = f"{e.bag.name}_ep{e.index:03d}"
        row = self.writer.end_episode(cols, cfg.task, {"source_bag": str(e.bag), "source_name": name}, masks)
        self.summary.episodes.append({"name": name, "episode_index": row["episode_index"],
                                      "bag": str(e.bag), "topic": e.topic, **info,
                                      "hands": int(arrays["frame_index"].size)})
        if cfg.plot:
            from wildhands_offline.plot import plot_episode

            (self.work / "plots").mkdir(exist_ok=True)
            plot_episode(self.work / "plots" / f"episode_{row['episode_index']:06d}.png", name,
                         arrays["frame_stamp_ns"], arrays["wrist_target_pose"],
                         arrays["gripper_aperture_m"], side_confidence(arrays),
                         cfg.target_frame or info["frame_id"])
        if self.on_episode is not None:
            self.on_episode(name)
        e.index += 1
        e.stamps.clear()
        e.recorded.clear()


@dataclass
class _Episode:
    """The bag being exported and the rows of its current episode (``index``: 0, 1, ...): their stamps,
    whether each is a recorded image (else a filler), the last image."""

    bag: Path
    topic: str
    hand_frames: list[dict]
    by_stamp: dict[int, dict]
    target: object
    stamps: list[int] = field(default_factory=list)
    recorded: list[bool] = field(default_factory=list)
    last_rgb: np.ndarray | None = None
    index: int = 0


def _malformed_reasons() -> tuple[str, ...]:
    return MALFORMED_REASONS


__all__ = ["ACTION_NAMES", "EPISODE_GAP_S", "STATE_NAMES", "VIDEO_KEY", "dataset_fps", "episode_columns",
           "export_lerobot", "robot_hand_feature"]
