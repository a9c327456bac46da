"""Bags of ``wildhands_ros/msg/HandArray`` -> per-episode arrays (numpy ``.npz`` and Parquet) for learning.

    summary = export_bags(["run1_hands"], "dataset_dir", ExportConfig(episode_gap_s=2.0))

An episode is one bag, split where consecutive image stamps are more than ``episode_gap_s`` apart.
Messages are ordered by header stamp (the image's); a second message with an already seen stamp is
counted (``duplicate_stamp``) and skipped. OUT (a directory, written under a temporary name and renamed at
the end) holds per episode ``<name>.npz``, ``<name>_hands.parquet`` (one row per hand, the "hand" arrays
below, multi-dimensional ones flattened row-major into fixed-size lists), ``<name>_frames.parquet`` (one
row per image, the "frame" arrays) and one ``summary.json`` (episodes, counts of malformed messages).
``<name>`` = ``<bag directory name>_ep<k>`` (k = 000, 001, ...).

The frame and hand arrays and their layout are those of ``wildhands_core.episodes`` (the one episode
writer, also used by ``wildhands-video``): ``stamp_ns`` = image header stamp, ``frame_log_time_ns`` = bag
log time of the HandArray, the wrist pose and ``grasp_class`` as recorded in the message.
Robot targets (``wildhands_offline.robot_targets``: the hands in ``target_frame`` when one is given, pinch
aperture, gripper open/closed and command, wrist target pose per side) are added to the hand and frame
arrays. Also ``frame_id`` (str, the camera optical frame of the episode's first image), ``target_frame``
(str, "" without one) and ``grasp_class_names`` in the npz. With a robot hand (``ExportConfig.robot_hand``):
frame arrays ``robot_hand_q_left`` / ``_right`` (F, J) joint positions (rad) and ``robot_hand_valid`` (F, 2)
(``wildhands_core.retargeting.sequence``), their joint names in the npz and ``summary.json``, the frames
whose retargeting failed (by reason) in the episode's ``robot_hand_failed``.
``format="lerobot"`` writes a LeRobot dataset
instead (``wildhands_offline.lerobot_export``); ``plot`` adds ``<name>_plot.png`` per episode.
Reading the hands bag and what both formats share (configuration, summary, episode split) is
``wildhands_offline.hands_bag``.
Malformed messages (not deserialisable, handedness not 0/1, non-finite values, wrong array sizes) are
skipped and counted by reason; frames whose camera -> target transform is missing are kept (target values
NaN, ``transform_ok`` False) and counted by reason in ``transform_missing``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from wildhands_core.episodes import FRAME_ARRAYS, HAND_ARRAYS, episode_arrays, write_episode_arrays
from wildhands_core.transforms import TRANSFORM_ERROR_REASONS
from wildhands_offline.atomic import atomic_path, write_json_atomic
from wildhands_offline.hands_bag import (
    MALFORMED_REASONS,
    ROBOT_FRAME_ARRAYS,
    ExportConfig,
    ExportSummary,
    read_hands_bag,
    robot_hand_configs,
    side_confidence,
    split_episodes,
    stamp_gaps,
    target_for_bag,
)
from wildhands_offline.lerobot_export import export_lerobot
from wildhands_offline.robot_targets import TARGET_HAND_ARRAYS, episode_targets

__all__ = ["FRAME_ARRAYS", "HAND_ARRAYS", "MALFORMED_REASONS", "ExportConfig", "ExportSummary",
           "episode_arrays", "export_bags", "split_episodes", "stamp_gaps", "target_for_bag"]


def export_bags(in_bags: list[str | Path], out_dir: str | Path, cfg: ExportConfig | None = None,
                on_episode: Callable[[str], None] | None = None) -> ExportSummary:
    """Export the HandArray messages of ``in_bags`` into ``out_dir``; see the module docstring.
    ``on_episode(name)`` is called after each episode written (an exception there aborts: no output)."""
    cfg = cfg if cfg is not None else ExportConfig()
    if cfg.format == "lerobot":
        return export_lerobot(in_bags, out_dir, cfg, on_episode)
    if cfg.format != "npz":
        raise ValueError(f"unknown export format {cfg.format!r} (npz | lerobot)")
    out_dir = Path(out_dir)
    summary = ExportSummary(output=str(out_dir), target_frame=cfg.target_frame)
    malformed: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    robot_configs = robot_hand_configs(cfg)
    with atomic_path(out_dir, cfg.overwrite) as work:
        work.mkdir()
        for bag in map(Path, in_bags):
            frames, topic = read_hands_bag(bag, cfg, malformed)
            summary.messages += len(frames)
            stamps = [f["stamp_ns"] for f in frames]
            target = target_for_bag(bag, cfg, {f["frame_id"] for f in frames}, malformed)
            for k, sl in enumerate(split_episodes(stamps, cfg.episode_gap_s)):
                name = f"{bag.name}_ep{k:03d}"
                ep = frames[sl]
                arrays = episode_arrays(ep)
                ep_missing: Counter[str] = Counter()
                arrays.update(episode_targets(arrays, [f["frame_id"] for f in ep], target, cfg.gripper,
                                              ep_missing))
                missing.update(ep_missing)
                hand_names = [*HAND_ARRAYS, "pinch_aperture_m", *(TARGET_HAND_ARRAYS if target else ())]
                strings, robot_frame_arrays = {"target_frame": cfg.target_frame or ""}, ()
                robot_entry: dict[str, dict] = {}
                if robot_configs:
                    from wildhands_core.retargeting.sequence import (
                        ROBOT_HAND_FRAME_ARRAYS,
                        episode_robot_hand_arrays,
                    )

                    robot_arrays, robot_meta, robot_failed = episode_robot_hand_arrays(arrays, robot_configs)
                    robot_entry = {"robot_hand_failed": robot_failed}
                    arrays.update(robot_arrays)
                    strings.update(robot_meta)
                    robot_frame_arrays = ROBOT_HAND_FRAME_ARRAYS
                    summary.robot_hand = robot_meta
                write_episode_arrays(work, name, arrays, ep[0]["frame_id"], hand_names,
                                     [*FRAME_ARRAYS, *ROBOT_FRAME_ARRAYS, *robot_frame_arrays], strings)
                summary.episodes.append({
                    "name": name, "bag": str(bag), "topic": topic, "frames": len(ep),
                    "hands": int(arrays["frame_index"].size), "first_stamp_ns": ep[0]["stamp_ns"],
                    "last_stamp_ns": ep[-1]["stamp_ns"], "frame_id": ep[0]["frame_id"],
                    "frames_without_hands": int(np.sum(arrays["frame_num_hands"] == 0)),
                    "transform_missing": int(np.sum(~arrays["transform_ok"])),
                    "gaps": stamp_gaps(arrays["frame_stamp_ns"]), **robot_entry,
                })
                if cfg.plot:
                    from wildhands_offline.plot import plot_episode

                    plot_episode(work / f"{name}_plot.png", name, arrays["frame_stamp_ns"],
                                 arrays["wrist_target_pose"], arrays["gripper_aperture_m"],
                                 side_confidence(arrays), cfg.target_frame or ep[0]["frame_id"])
                if on_episode is not None:
                    on_episode(name)
        summary.malformed = {r: malformed[r] for r in (*MALFORMED_REASONS, "tf_message") if malformed[r]}
        summary.transform_missing = {r: missing[r] for r in TRANSFORM_ERROR_REASONS if missing[r]}
        write_json_atomic(work / "summary.json", summary.to_dict())
    return summary
