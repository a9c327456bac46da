"""``wildhands-bag``: offline hand estimation on recorded bags, and export to learning arrays.

    wildhands-bag process IN_BAG OUT_BAG --checkpoint model.pt --boxes-topic /hands/boxes [--storage sqlite3]
    wildhands-bag export HANDS_BAG [HANDS_BAG ...] OUT_DIR [--episode-gap 2.0] [--format lerobot]
        [--target-frame base_link [--extrinsic "x y z qx qy qz qw"]] [--plot]

No rclpy needed (rosbags reads and writes both rosbag2 storages). Exit codes: 0 done, 1 done but frames or
messages were rejected (see the summary), 2 bad arguments / input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from wildhands_core.detection.factory import DETECTOR_SOURCES
from wildhands_core.estimator import BACKENDS, EstimatorConfig
from wildhands_core.gripper import GripperConfig
from wildhands_offline.process import STORAGES, ProcessConfig


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wildhands-bag", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("process", help="estimate hands on a recorded bag, write a new bag")
    pr.add_argument("input", help="rosbag2 directory (sqlite3 or MCAP)")
    pr.add_argument("output", help="output bag directory (must not exist unless --overwrite)")
    pr.add_argument("--checkpoint", help="project or released checkpoint (required unless --random-weights)")
    pr.add_argument("--random-weights", action="store_true", help="untrained network (tests, benchmarks)")
    pr.add_argument("--backend", default=EstimatorConfig.backend, choices=BACKENDS)
    pr.add_argument("--device", default=EstimatorConfig.device, help="cpu | cuda | cuda:N")
    pr.add_argument("--mano-dir", help="licensed MANO pickles (default: WILDHANDS_MANO_DIR or procedural)")
    pr.add_argument("--image-topic")
    pr.add_argument("--info-topic")
    pr.add_argument("--boxes-topic", help="recorded wildhands_ros/HandBoxArray boxes")
    pr.add_argument("--detector", action="append", choices=DETECTOR_SOURCES, default=[],
                    help="detector source(s) besides the boxes topic (repeatable)")
    pr.add_argument("--detector-checkpoint", help="checkpoint of the 'learned' detector")
    pr.add_argument("--info-tolerance-ms", type=float, default=ProcessConfig.info_tolerance_ns / 1e6,
                    help="max image/CameraInfo stamp difference (default 0: same stamp)")
    pr.add_argument("--demo-k", action="store_true",
                    help="images without CameraInfo use the release demo's intrinsics "
                         "instead of being rejected")
    pr.add_argument("--storage", default=ProcessConfig.storage, choices=sorted(STORAGES))
    pr.add_argument("--hands-topic", default=ProcessConfig.hands_topic)
    pr.add_argument("--no-tf", action="store_true", help="do not write /tf")
    pr.add_argument("--tf-prefix", default=ProcessConfig.tf_prefix)
    pr.add_argument("--camera-frame", help="override the images' header.frame_id")
    pr.add_argument("--copy", nargs="*", metavar="TOPIC",
                    help="copy input topics through (no TOPIC: all of them)")
    pr.add_argument("--vertices", action="store_true", help="fill Hand.vertices_m")
    pr.add_argument("--tracking", action="store_true",
                    help="tracker ids + smoothing (off: the most confident detections of each frame, no ids)")
    pr.add_argument("--overwrite", action="store_true")
    pr.add_argument("--no-progress", action="store_true")

    ex = sub.add_parser("export", help="HandArray bag(s) -> per-episode .npz + Parquet, or a LeRobot dataset")
    ex.add_argument("inputs", nargs="+", help="bag directories with HandArray messages")
    ex.add_argument("output", help="output directory (must not exist unless --overwrite)")
    ex.add_argument("--topic", help="HandArray topic (default: the only one)")
    ex.add_argument("--episode-gap", type=float, default=None,
                    help="start a new episode where stamps jump by more than this (seconds; default: never "
                    "for npz, 0.5 for lerobot, where 'inf' fills pauses with marked repeated frames instead)")
    ex.add_argument("--format", default="npz", choices=["npz", "lerobot"],
                    help="npz: .npz + Parquet per episode; lerobot: a LeRobot v3.0 dataset (images as video)")
    ex.add_argument("--target-frame", help="express hands and targets in this TF frame (from the bag's /tf "
                    "+ /tf_static, or --extrinsic); frames without the transform are kept and counted")
    ex.add_argument("--extrinsic", metavar="'X Y Z QX QY QZ QW'",
                    help="static pose of the camera in --target-frame (m, quaternion)")
    ex.add_argument("--tf-max-gap", type=float, default=1.0,
                    help="do not interpolate /tf across samples further apart (seconds, default 1)")
    ex.add_argument("--image-topic", help="lerobot: image topic of the video (default: the only one)")
    ex.add_argument("--fps", type=int, help="lerobot: dataset frame rate (default: from the stamps)")
    ex.add_argument("--task", default="hand demonstration", help="lerobot: task text of the episodes")
    ex.add_argument("--gripper-closed-m", type=float, default=GripperConfig.closed_aperture_m,
                    help="pinch aperture (m) mapped to command 0 (closed)")
    ex.add_argument("--gripper-open-m", type=float, default=GripperConfig.open_aperture_m,
                    help="pinch aperture (m) mapped to command 1 (open)")
    ex.add_argument("--grasp-close-below-m", type=float, default=GripperConfig.close_below_m)
    ex.add_argument("--grasp-open-above-m", type=float, default=GripperConfig.open_above_m)
    ex.add_argument("--plot", action="store_true", help="a PNG per episode (wrist, aperture, confidence)")
    ex.add_argument("--robot-hand", default="", metavar="NAME",
                    help="add a robot hand's joint positions per side (allegro, leap, shadow, inspire, "
                    "ability, svh): npz robot_hand_q_{left,right}, LeRobot action.robot_hand")
    ex.add_argument("--robot-hand-config", default="", help="a retargeting config of one's own instead")
    ex.add_argument("--robot-hand-urdf", default="", help="URDF replacing the config's")
    ex.add_argument("--overwrite", action="store_true")
    ex.add_argument("--no-progress", action="store_true")
    return p


def _process(a: argparse.Namespace) -> int:
    from wildhands_core.estimator import HandPoseEstimator
    from wildhands_offline.process import offline_pipeline_config, process_bag

    est = HandPoseEstimator(EstimatorConfig(
        checkpoint=a.checkpoint, mano_dir=a.mano_dir, backend=a.backend, device=a.device,
        allow_random_weights=a.random_weights, return_vertices=a.vertices,
    ))
    cfg = ProcessConfig(
        image_topic=a.image_topic, info_topic=a.info_topic, boxes_topic=a.boxes_topic,
        info_tolerance_ns=round(a.info_tolerance_ms * 1e6), demo_intrinsics_without_info=a.demo_k,
        storage=a.storage, hands_topic=a.hands_topic, tf=not a.no_tf,
        tf_prefix=a.tf_prefix, camera_frame=a.camera_frame,
        copy_topics=None if a.copy is None else (tuple(a.copy) or ("*",)),
        with_vertices=a.vertices,
        pipeline=offline_pipeline_config(tracking=a.tracking, max_hands=est.cfg.max_hands,
                                         detector_sources=tuple(a.detector),
                                         learned_detector_checkpoint=a.detector_checkpoint),
        overwrite=a.overwrite, progress=not a.no_progress,
    )
    s = process_bag(a.input, a.output, est, cfg)
    print(f"{s.frames_written}/{s.frames_total} frames written, {s.hands_written} hands, "
          f"{s.wall_s:.1f} s ({s.realtime_factor:.2f}x real time) -> {s.output}")
    for reason, n in s.rejected.items():
        print(f"  rejected {n} frame(s): {reason}")
    if s.copy_skipped_topics:
        print("  not copied (connection could not be recreated): " + ", ".join(s.copy_skipped_topics))
    if s.boxes_malformed or s.info_malformed:
        print(f"  malformed: {s.boxes_malformed} box message(s), {s.info_malformed} CameraInfo message(s)")
    return 1 if s.rejected or s.boxes_malformed or s.info_malformed else 0


def _export(a: argparse.Namespace) -> int:
    from wildhands_offline.export import ExportConfig, export_bags
    from wildhands_offline.tf_bag import parse_extrinsic

    if a.extrinsic and not a.target_frame:
        raise ValueError("--extrinsic needs --target-frame (the frame the camera pose is given in)")
    cfg = ExportConfig(
        topic=a.topic, episode_gap_s=a.episode_gap, overwrite=a.overwrite, progress=not a.no_progress,
        format=a.format, target_frame=a.target_frame,
        extrinsic=parse_extrinsic(a.extrinsic) if a.extrinsic else None, tf_max_gap_s=a.tf_max_gap,
        gripper=GripperConfig(closed_aperture_m=a.gripper_closed_m, open_aperture_m=a.gripper_open_m,
                              close_below_m=a.grasp_close_below_m, open_above_m=a.grasp_open_above_m),
        plot=a.plot, image_topic=a.image_topic, fps=a.fps, task=a.task, robot_hand=a.robot_hand,
        robot_hand_config=a.robot_hand_config, robot_hand_urdf=a.robot_hand_urdf,
    )
    s = export_bags(a.inputs, a.output, cfg)
    print(f"{len(s.episodes)} episode(s), {s.messages} hand messages -> {s.output} ({s.format})")
    for e in s.episodes:
        if e.get("gaps"):
            n = e.get("filled_frames")
            filled = f" ({n} filled, marked recorded=False)" if n else ""
            print(f"  {e['name']}: {len(e['gaps'])} gap(s), ~{sum(g['missing_frames'] for g in e['gaps'])} "
                  f"missing frame(s){filled}")
    if s.malformed:
        print("  skipped: " + json.dumps(s.malformed))
    if s.transform_missing:
        print(f"  frames without a transform to {s.target_frame}: " + json.dumps(s.transform_missing))
    return 1 if s.malformed or s.transform_missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        return _process(a) if a.command == "process" else _export(a)
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"wildhands-bag: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
