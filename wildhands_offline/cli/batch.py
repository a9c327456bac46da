"""`wildhands-batch INPUT... --checkpoint CKPT --out OUT`: many recordings -> one dataset, on Ray.

INPUTs: bags (rosbag2 folders, .mcap / .db3), videos, image folders and LeRobot v3.0 datasets, given as
paths, ``--glob PATTERN`` (``**`` recursive) and ``--manifest FILE`` (one path per line), in any mix.
Each input is processed whole by one worker (an actor that loads the estimator once), inputs in parallel:
``--workers`` actors of ``--cpus-per-worker`` CPUs and ``--gpus-per-worker`` GPUs (fractions allowed)
each. Ray starts on this machine (nothing to set up) unless ``--address`` names a running cluster
(``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the others, this package
installed on every node, OUT on storage every node sees). ``--workers 0``: in this process, no Ray.

Intrinsics: a bag's CameraInfo; for the other inputs ``--camera-info YAML``, ``--fx --fy --cx --cy`` or
``--fov-deg`` (all inputs), else a camera_calibration YAML next to the input (``<video stem>.yaml``,
``<folder>/camera_info.yaml``); an input with none fails (``no_intrinsics``).

``--robot-hand NAME`` (or ``--robot-hand-config FILE [--robot-hand-urdf FILE]``): as in ``wildhands-bag
export``, every episode also holds the robot hand's joint positions per side (``robot_hand_q_left`` /
``_right``, rad, joint names in the npz); checked before anything starts (an unknown name, or a config or
URDF that does not load, is exit status 2) and part of the configuration (another robot hand redoes every
input).

``--format lerobot``: ``dataset/`` is one LeRobot v3.0 dataset instead, one episode per input episode in
the same order, with the columns and camera video of ``wildhands-bag export --format lerobot`` (the
video: the recorded images at the input's rate rounded; every input must share the first one's fps and
image size, an input that does not is left out and listed as failed, ``left_out``).

OUT: ``dataset/`` (the merged npz + Parquet episodes in sorted input order, ``episodes.json``),
``summary.json`` (per input: frames, hands, rejected frames by reason, seconds, worker, attempts; failures
with their reason), and the ledger (``parts/``, ``failed/``, ``attempts/``): a re-run with the same inputs
and settings processes only what is missing. Exit status 0 when every input is done, 1 when some failed
(the summary lists them), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wildhands_core.estimator import BACKENDS, EstimatorConfig
from wildhands_core.pipeline import PipelineConfig
from wildhands_core.tracking.config import TrackerConfig


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wildhands-batch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="*", help="bags, videos, image folders, LeRobot datasets")
    ap.add_argument("--glob", action="append", default=[], help="inputs matching this pattern (repeatable)")
    ap.add_argument("--manifest", action="append", default=[], help="file listing inputs, one per line")
    ap.add_argument("--checkpoint", required=True, help="estimator checkpoint (project or released .ckpt)")
    ap.add_argument("--out", required=True, help="output folder (dataset, summary, ledger)")
    ap.add_argument("--workers", type=int, default=2, help="parallel workers (0: this process, no Ray)")
    ap.add_argument("--cpus-per-worker", type=float, default=1.0)
    ap.add_argument("--gpus-per-worker", type=float, default=0.0, help="e.g. 0.25: four workers per GPU")
    ap.add_argument("--threads", type=int, default=1, help="inference threads per worker")
    ap.add_argument("--address", default=None, help="Ray cluster to join (default: a local Ray)")
    ap.add_argument("--max-retries", type=int, default=3, help="restarts of a worker that died, per input")
    ap.add_argument("--camera-info", default=None, help="camera_calibration YAML of non-bag inputs")
    for k in ("fx", "fy", "cx", "cy"):
        ap.add_argument(f"--{k}", type=float, default=None, help=f"intrinsics of non-bag inputs: {k}, pixels")
    ap.add_argument("--fov-deg", type=float, default=None, help="horizontal field of view of non-bag inputs")
    ap.add_argument("--fps", type=float, default=30.0, help="frame rate of image folders")
    ap.add_argument("--video-key", default=None,
                    help="LeRobot dataset inputs: the camera's video feature (default: the only one)")
    ap.add_argument("--mano-dir", default=None)
    ap.add_argument("--backend", default="onnxruntime", choices=BACKENDS)
    ap.add_argument("--onnx", default=None, help="ONNX file of the checkpoint for onnxruntime")
    ap.add_argument("--device", default=EstimatorConfig.device)
    ap.add_argument("--detector", default=PipelineConfig.detector_sources[0],
                    choices=["mediapipe", "learned"])
    ap.add_argument("--detector-checkpoint", default=None, help="checkpoint of --detector learned")
    ap.add_argument("--min-score", type=float, default=PipelineConfig.detector_min_score)
    ap.add_argument("--max-hands", type=int, default=TrackerConfig.max_hands)
    ap.add_argument("--no-tracking", action="store_true", help="detect every frame, no ids, no smoothing")
    ap.add_argument("--image-topic", default=None, help="bags: the image topic (default: the only one)")
    ap.add_argument("--boxes-topic", default=None, help="bags: recorded HandBoxArray boxes")
    ap.add_argument("--robot-hand", default="", metavar="NAME",
                    help="add a robot hand's joint positions per side (allegro, leap, shadow, inspire, "
                    "ability, svh): robot_hand_q_{left,right}, as wildhands-bag export --robot-hand")
    ap.add_argument("--robot-hand-config", default="", metavar="FILE",
                    help="a retargeting config of one's own instead ({side} in the path: one per side)")
    ap.add_argument("--robot-hand-urdf", default="", metavar="FILE", help="URDF replacing the config's")
    ap.add_argument("--format", default="npz", choices=["npz", "lerobot"],
                    help="npz: .npz + Parquet per episode; lerobot: one LeRobot v3.0 dataset (images as "
                    "video)")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    from wildhands_offline.batch import run_batch
    from wildhands_offline.batch_inputs import list_inputs
    from wildhands_offline.batch_worker import BatchConfig

    try:
        paths = list_inputs(a.inputs, a.glob, a.manifest)
        if not paths:
            raise ValueError("no input (give paths, --glob or --manifest)")
        if not Path(a.checkpoint).is_file():
            raise ValueError(f"--checkpoint {a.checkpoint}: no such file")
        if a.detector == "learned" and not a.detector_checkpoint:
            raise ValueError("--detector learned needs --detector-checkpoint")
        if a.workers < 0 or a.cpus_per_worker <= 0 or a.gpus_per_worker < 0:
            raise ValueError("--workers >= 0, --cpus-per-worker > 0, --gpus-per-worker >= 0")
        cfg = BatchConfig(
            checkpoint=a.checkpoint, backend=a.backend, onnx=a.onnx, device=a.device, mano_dir=a.mano_dir,
            detector=a.detector, detector_checkpoint=a.detector_checkpoint, min_score=a.min_score,
            max_hands=a.max_hands, tracking=not a.no_tracking, camera_info=a.camera_info, fx=a.fx, fy=a.fy,
            cx=a.cx, cy=a.cy, fov_deg=a.fov_deg, fps=a.fps, video_key=a.video_key,
            image_topic=a.image_topic, boxes_topic=a.boxes_topic, threads=a.threads,
            robot_hand=a.robot_hand, robot_hand_config=a.robot_hand_config, robot_hand_urdf=a.robot_hand_urdf,
            format=a.format)
        cfg.check_robot_hand()
    except (ValueError, OSError, ImportError) as exc:
        print(f"wildhands-batch: {exc}", file=sys.stderr)
        return 2
    try:
        summary = run_batch(paths, a.out, cfg, workers=a.workers, cpus_per_worker=a.cpus_per_worker,
                            gpus_per_worker=a.gpus_per_worker, address=a.address, progress=not a.no_progress,
                            max_retries=a.max_retries)
    except ConnectionError as exc:  # --address: no Ray cluster there
        print(f"wildhands-batch: {exc}", file=sys.stderr)
        return 2
    print(f"{summary['done']}/{summary['inputs']} inputs done ({summary['processed_now']} processed now, "
          f"{summary['frames_processed_now']} frames, {summary['frames_per_s'] or 0:.1f} frames/s) -> "
          f"{summary['dataset']}")
    for f in summary["failed"]:
        print(f"failed: {f['input']}: {f['reason']}: {f['message']}", file=sys.stderr)
    print(json.dumps({"summary": str(Path(a.out) / "summary.json")}))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
