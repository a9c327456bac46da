"""One batch worker: loads the estimator and detector once, then turns whole inputs into parts.

An input is processed whole, in order (tracking and smoothing are temporal), through a fresh
``wildhands_core.pipeline.HandPipeline`` on the worker's estimator:
- ``bag``: ``process.process_bag`` (images + CameraInfo, recorded boxes added to the detector's) into a
  hands bag, then ``export.export_bags`` (npz + Parquet, one episode per bag) from it; intrinsics from the
  bag's CameraInfo;
- ``video`` / ``folder`` / ``lerobot``: the frames of ``sources.open_source`` (a LeRobot dataset: every
  episode, in order, each its own sequence and episode ``<name>_epNNN``); intrinsics from the flags
  (``BatchConfig.camera_info`` / ``fx..cy`` / ``fov_deg``), else a camera_calibration YAML next to the
  input (``<video stem>.yaml`` beside a file, ``camera_info.yaml`` inside a folder); frames undistorted
  when the camera is.
Both write the episode layout of ``wildhands-bag export`` (``wildhands_core.episodes`` + the robot-target
columns without a target frame), so the merged dataset has one schema; ``frame_log_time_ns`` of a video
frame is its stamp (the output depends on the input only). With a robot hand (``BatchConfig.robot_hand`` /
``robot_hand_config`` / ``robot_hand_urdf``, as ``wildhands-bag export --robot-hand``): the frame arrays
``robot_hand_q_left`` / ``_right`` (rad) and ``robot_hand_valid`` of
``wildhands_core.retargeting.sequence.episode_robot_hand_arrays``, the joint names in the npz, the frames
whose retargeting failed counted by reason in the entry's ``robot_hand_failed``.

With ``BatchConfig.format`` "lerobot" a part is a LeRobot part instead (``LEROBOT_PART``,
``lerobot_writer.LeRobotWriter.save_part``), with the columns of ``wildhands-bag export --format lerobot``:
a bag's hands bag carries its images along (``--copy``) into ``lerobot_export.export_lerobot``; a video /
folder / LeRobot input's frames become one LeRobot episode each sequence (``lerobot_export.episode_columns``
of its rows, the frames as recorded into the video at the source's rate rounded, poses in the camera's
optical frame).

An input that cannot be processed raises :class:`InputFailedError` with a short reason: ``no_intrinsics``,
``unreadable`` (a source or bag that cannot be opened or read), ``no_frames`` (nothing usable in it), or
the exception's class name for anything else.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from wildhands_core.episodes import FRAME_ARRAYS, HAND_ARRAYS, episode_arrays, hand_row, write_episode_arrays
from wildhands_core.gripper import GripperConfig
from wildhands_core.pipeline import PipelineConfig
from wildhands_core.tracking.config import TrackerConfig
from wildhands_offline.atomic import atomic_path, write_json_atomic
from wildhands_offline.batch_inputs import BatchInput, digest
from wildhands_offline.batch_ledger import ENTRY, Ledger
from wildhands_offline.hands_bag import ROBOT_FRAME_ARRAYS

#: Hand columns of every part (the bag exporter's without a target frame).
PART_HAND_COLUMNS = (*HAND_ARRAYS, "pinch_aperture_m")
PART_FRAME_COLUMNS = (*FRAME_ARRAYS, *ROBOT_FRAME_ARRAYS)
#: The folder of a LeRobot part (``LeRobotWriter.save_part``) in a part.
LEROBOT_PART = "lerobot"


class InputFailedError(Exception):
    """An input that cannot be processed; ``reason`` is a short key, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BatchConfig:
    """What every worker does with an input. Every field but ``threads`` changes the output and is part of
    the configuration hash."""

    checkpoint: str
    backend: str = "onnxruntime"
    onnx: str | None = None
    device: str = "cpu"
    mano_dir: str | None = None
    detector: str = "mediapipe"  # mediapipe | learned
    detector_checkpoint: str | None = None
    min_score: float = PipelineConfig.detector_min_score
    max_hands: int = TrackerConfig.max_hands
    tracking: bool = True
    camera_info: str | None = None  # intrinsics of every video / folder / LeRobot input
    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None
    fov_deg: float | None = None
    fps: float = 30.0  # frame rate of an image folder
    video_key: str | None = None  # LeRobot datasets: the camera's video feature (None = the only one)
    image_topic: str | None = None  # bags: None = the only image topic
    boxes_topic: str | None = None  # bags: recorded HandBoxArray boxes, added to the detector's
    threads: int = 1  # threads per worker (torch, ONNX Runtime and OpenCV)
    # a robot hand following each side (``wildhands_core.retargeting.config.configs_for``): a catalogue
    # name, or a retargeting config of one's own (``{side}`` in the path: one per side) and its URDF
    robot_hand: str = ""
    robot_hand_config: str = ""
    robot_hand_urdf: str = ""
    # the episodes of a part and of the merged dataset: "npz" (npz + Parquet) | "lerobot" (a LeRobot v3.0
    # dataset: the columns of wildhands-bag export --format lerobot, the camera video)
    format: str = "npz"

    def export_config(self):
        """The ``ExportConfig`` of ``wildhands-bag export`` with this robot hand (LeRobot columns)."""
        from wildhands_offline.hands_bag import ExportConfig

        return ExportConfig(progress=False, format=self.format, robot_hand=self.robot_hand,
                            robot_hand_config=self.robot_hand_config, robot_hand_urdf=self.robot_hand_urdf,
                            image_topic=self.image_topic)

    def robot_hand_configs(self) -> dict:
        """The retargeting configs per side (True = right), {} without a robot hand; raises
        ``UnknownRobotHandError`` (listing the names) or ``RetargetingSetupError`` (naming the file)."""
        if not (self.robot_hand or self.robot_hand_config or self.robot_hand_urdf):
            return {}
        from wildhands_core.retargeting.config import configs_for

        return configs_for(robot=self.robot_hand, config=self.robot_hand_config, urdf=self.robot_hand_urdf)

    def check_robot_hand(self) -> None:
        """Load the robot hand's configs and URDFs as a worker will (before any worker starts); raises
        ``UnknownRobotHandError`` listing the names, ``RetargetingSetupError`` naming the file that does not
        load, ``ModuleNotFoundError`` naming a missing package."""
        configs = self.robot_hand_configs()
        if configs:
            from wildhands_core.retargeting.retargeter import RobotHandRetargeting

            RobotHandRetargeting(configs)

    def config_hash(self) -> str:
        """Hash of the fields that change the output (files named by their content identity). The robot
        hand enters as its loaded configs per side, their YAML and URDF files named by identity (so an
        edited config or URDF, or ``none`` vs no robot hand, hashes as what it makes)."""
        d = asdict(self)
        d.pop("threads")
        if d["format"] == "npz":  # the hash of the npz output as before the format existed
            d.pop("format")
        for k in ("checkpoint", "onnx", "detector_checkpoint", "camera_info", "mano_dir"):
            if d[k]:
                d[k] = _file_identity(d[k])
        for k in ("robot_hand", "robot_hand_config", "robot_hand_urdf"):
            d.pop(k)
        robot = {}
        for side, rc in sorted(self.robot_hand_configs().items()):
            fields = asdict(rc)
            fields["urdf"] = _file_identity(rc.urdf)
            fields["source"] = _file_identity(rc.source) if rc.source is not None else None
            robot["right" if side else "left"] = fields
        if robot:
            d["robot_hand"] = robot
        return digest(d)


def _file_identity(path: str | Path) -> list:
    """[absolute path, size, modification time (ns)] of a file."""
    st = Path(path).stat()
    return [str(Path(path).absolute()), st.st_size, st.st_mtime_ns]


class InputProcessor:
    """The estimator and detector of ``cfg``, loaded once; :meth:`run` turns one input into its part."""

    def __init__(self, cfg: BatchConfig, worker: str = "local") -> None:
        import cv2
        import torch

        from wildhands_core.detection.factory import build_available_detector
        from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
        from wildhands_core.pipeline import detector_config

        torch.set_num_threads(max(cfg.threads, 1))
        cv2.setNumThreads(max(cfg.threads, 1))  # OpenCV's pool would otherwise take every core of the machine
        self.cfg, self.worker = cfg, worker
        self.config_hash = cfg.config_hash()
        self.robot_configs = cfg.robot_hand_configs()
        self.estimator = HandPoseEstimator(EstimatorConfig(
            checkpoint=cfg.checkpoint, mano_dir=cfg.mano_dir, backend=cfg.backend, onnx_path=cfg.onnx,
            device=cfg.device, max_hands=cfg.max_hands, threads=max(cfg.threads, 1)))
        detector, _, skipped = build_available_detector(detector_config(self._pipeline_config()))
        if detector is None:
            raise ValueError("detector unavailable: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        self.detector = detector

    def _pipeline_config(self, sources: tuple[str, ...] | None = None) -> PipelineConfig:
        c = self.cfg
        return PipelineConfig(
            detector_sources=sources or (c.detector,), learned_detector_checkpoint=c.detector_checkpoint,
            detector_device=c.device, detector_backend="torch" if c.backend == "torch" else "onnxruntime",
            detector_min_score=c.min_score, tracking=c.tracking,
            tracker=TrackerConfig(max_hands=c.max_hands, min_detection_score=c.min_score),
            external_wait_s=0.0,
        )

    def run(self, inp: BatchInput, ledger: Ledger, on_frame=None) -> dict:
        """Process ``inp`` into ``ledger``'s part of its key; returns the ledger entry (``status`` "done" or
        "failed" with ``reason`` and ``message``). The part is written atomically: an interrupted call leaves
        none."""
        ledger.record_attempt(inp.key)
        t0 = time.perf_counter()
        base = {"key": inp.key, "input": inp.path, "kind": inp.kind, "identity": inp.identity,
                "config_hash": self.config_hash, "worker": self.worker}
        try:
            with atomic_path(ledger.part(inp.key), overwrite=True) as work:
                work.mkdir()
                process = self._bag if inp.kind == "bag" else self._frames
                stats = process(inp, work, on_frame)
                entry = {**base, "status": "done", **stats, "seconds": time.perf_counter() - t0}
                write_json_atomic(work / ENTRY, entry)
            ledger.clear_failure(inp.key)
            return entry
        except Exception as exc:
            reason = exc.reason if isinstance(exc, InputFailedError) else type(exc).__name__
            entry = {**base, "status": "failed", "reason": reason, "message": str(exc),
                     "seconds": time.perf_counter() - t0}
            ledger.record_failure(inp.key, entry)
            return entry

    def _bag(self, inp: BatchInput, work: Path, on_frame) -> dict:
        from wildhands_offline.export import export_bags
        from wildhands_offline.process import ProcessConfig, offline_pipeline_config, process_bag

        c = self.cfg
        pcfg = offline_pipeline_config(tracking=c.tracking, max_hands=c.max_hands,
                                       detector_min_score=c.min_score)
        hands_bag = work.parent / f"{inp.name}"
        lerobot = c.format == "lerobot"  # the images go along into the hands bag, for the video
        try:
            summary = process_bag(inp.path, hands_bag, self.estimator,
                                  ProcessConfig(image_topic=c.image_topic, boxes_topic=c.boxes_topic,
                                                pipeline=pcfg, progress=False,
                                                copy_topics=(c.image_topic or "*",) if lerobot else None),
                                  detector=self.detector, on_frame=on_frame)
        except (ValueError, FileExistsError) as exc:
            raise InputFailedError("unreadable", str(exc)) from exc
        except Exception as exc:  # rosbags' reader errors on a damaged bag
            raise InputFailedError("unreadable", f"{type(exc).__name__}: {exc}") from exc
        if summary.info_topic is None:
            raise InputFailedError("no_intrinsics",
                                   f"{inp.path}: no CameraInfo topic for {summary.image_topic}")
        if summary.frames_written == 0:
            raise InputFailedError("no_frames", f"{inp.path}: no usable frame (rejected: {summary.rejected})")
        if lerobot:
            from dataclasses import replace

            from wildhands_offline.lerobot_export import export_lerobot

            ex = export_lerobot([hands_bag], work / LEROBOT_PART,
                                replace(c.export_config(), image_topic=summary.image_topic), part=True)
        else:
            exported = work.parent / f"{inp.name}.episodes"
            ex = export_bags([hands_bag], exported, c.export_config())
            for f in sorted(exported.iterdir()):
                if f.name != "summary.json":
                    shutil.move(str(f), work / f.name)
            shutil.rmtree(exported)
        shutil.rmtree(hands_bag)
        return {"frames": summary.frames_total, "frames_used": summary.frames_written,
                "hands": summary.hands_written, "rejected": dict(summary.rejected),
                "estimates_withheld": summary.estimates_withheld, "tracks_ended": summary.tracks_ended,
                "malformed": ex.malformed, "episodes": [e["name"] for e in ex.episodes],
                "episode_frames": [e["frames"] for e in ex.episodes],
                **self._robot_entry([e.get("robot_hand_failed", {}) for e in ex.episodes])}

    def _robot_entry(self, failed: list[dict[str, int]]) -> dict:
        """``robot_hand_failed``: frames whose retargeting failed, by reason (summed over ``failed``, one
        dict per episode); {} without a robot hand."""
        if not self.robot_configs:
            return {}
        total: Counter[str] = Counter()
        for f in failed:
            total.update(f)
        return {"robot_hand_failed": dict(sorted(total.items()))}

    def _intrinsics(self, inp: BatchInput, width: int, height: int):
        """The ``Intrinsics`` of a video / folder / LeRobot input; InputFailedError("no_intrinsics")."""
        from wildhands_core import intrinsics

        c = self.cfg
        explicit = (c.fx, c.fy, c.cx, c.cy)
        if c.camera_info:
            intr = intrinsics.from_camera_info_yaml(c.camera_info)
        elif all(v is not None for v in explicit):
            return intrinsics.from_values(*explicit)
        elif c.fov_deg is not None:
            return intrinsics.from_fov(width, height, c.fov_deg)
        else:
            p = Path(inp.path)
            beside = p / "camera_info.yaml" if p.is_dir() else p.with_suffix(".yaml")
            if not beside.is_file():
                raise InputFailedError("no_intrinsics", f"{inp.path}: no intrinsics (give --camera-info, "
                                  f"--fx/--fy/--cx/--cy or --fov-deg, or put {beside.name} next to it)")
            intr = intrinsics.from_camera_info_yaml(beside)
        if intr.size is not None and intr.size != (width, height):
            raise InputFailedError("no_intrinsics", f"{inp.path}: the camera YAML is for {intr.size[0]}x"
                              f"{intr.size[1]}, the frames are {width}x{height}")
        return intr

    def _frames(self, inp: BatchInput, work: Path, on_frame) -> dict:
        """A video, an image folder, or every episode of a LeRobot dataset (each its own sequence)."""
        from wildhands_offline.sources import lerobot_episodes, open_source

        try:
            episodes = lerobot_episodes(Path(inp.path)) if inp.kind == "lerobot" else [None]
        except (ValueError, OSError) as exc:
            raise InputFailedError("unreadable", str(exc)) from exc
        counted = ("rejected", "estimates_withheld", "tracks_ended", "robot_hand_failed")
        total: dict = {"frames": 0, "frames_used": 0, "hands": 0, **{k: Counter() for k in counted},
                       "episodes": [], "episode_frames": []}
        self._lerobot = None  # the part's LeRobotWriter, made at the first frame (format "lerobot")
        for ep in episodes:
            try:
                src = open_source(inp.path, self.cfg.fps, None, 0 if ep is None else ep, self.cfg.video_key)
            except (ValueError, OSError) as exc:
                raise InputFailedError("unreadable", str(exc)) from exc
            name = inp.name if ep is None else f"{inp.name}_ep{ep:03d}"
            done = total["frames_used"]
            stats = self._sequence(inp, src, name, work,
                                   None if on_frame is None else (lambda n, done=done: on_frame(done + n)))
            for k in ("frames", "frames_used", "hands"):
                total[k] += stats[k]
            for k in counted:
                total[k].update(stats[k])
            total["episodes"].append(name)
            total["episode_frames"].append(stats["frames_used"])
            total.setdefault("intrinsics", stats["intrinsics"])
            total.setdefault("K_px", stats["K_px"])
        if self._lerobot is not None:
            self._lerobot.save_part()
        for k in counted:
            total[k] = dict(sorted(total[k].items()))
        if not self.robot_configs:
            del total["robot_hand_failed"]
        return total

    def _sequence(self, inp: BatchInput, src, name: str, work: Path, on_frame) -> dict:
        """One sequence of frames through a fresh pipeline into the episode ``name``."""
        from wildhands_core.intrinsics import Undistorter
        from wildhands_core.pipeline import HandPipeline
        from wildhands_offline.robot_targets import episode_targets

        try:
            frames = src.frames()
            first = next(frames, None)
        except (ValueError, OSError) as exc:
            raise InputFailedError("unreadable", f"{inp.path}: {exc}") from exc
        if first is None:
            raise InputFailedError("unreadable", f"{inp.path}: no frame could be read ({name})")
        h, w = first[1].shape[:2]
        intr = self._intrinsics(inp, w, h)
        undistort = Undistorter(intr) if intr.distorted else None
        frame_id = (intr.camera_name or "camera") + "_optical"
        pipe = HandPipeline(self.estimator, self._pipeline_config(), detector=self.detector)
        video = self._lerobot_video(src, frame_id, w, h, work) if self.cfg.format == "lerobot" else None
        rows: list[dict] = []
        rejected: Counter[str] = Counter()
        n_hands = 0
        seen = 0

        def chain():
            yield first
            yield from frames

        try:
            for stamp_ns, image in chain():
                seen += 1
                if image.shape[:2] != (h, w):
                    rejected["image_size"] += 1
                    continue
                if video is not None:
                    video.add_image(image)  # as recorded (a bag's video: its recorded images)
                if undistort is not None:
                    image = undistort(image)
                hands = pipe.process(image, intr.K_px, stamp_ns)
                rows.append({"stamp_ns": int(stamp_ns), "log_time_ns": int(stamp_ns), "size": (w, h),
                             "frame_id": frame_id, "hands": [hand_row(e) for e in hands]})
                n_hands += len(hands)
                if on_frame is not None:
                    on_frame(len(rows))
        except (ValueError, OSError) as exc:
            raise InputFailedError("unreadable", f"{inp.path}: frame {seen}: {exc}") from exc
        if video is not None:
            robot_failed = self._lerobot_episode(rows, name, inp)
            return {"frames": seen, "frames_used": len(rows), "hands": n_hands, "rejected": rejected,
                    "robot_hand_failed": robot_failed,
                    "estimates_withheld": pipe.withheld, "tracks_ended": pipe.tracker.ended,
                    "intrinsics": intr.source, "K_px": np.asarray(intr.K_px).tolist()}
        arrays = episode_arrays(rows)
        arrays.update(episode_targets(arrays, [frame_id] * len(rows), None, GripperConfig(), Counter()))
        strings: dict[str, object] = {"target_frame": ""}
        frame_columns: tuple[str, ...] = PART_FRAME_COLUMNS
        robot_failed: dict[str, int] = {}
        if self.robot_configs:  # as wildhands-bag export --robot-hand does
            from wildhands_core.retargeting.sequence import ROBOT_HAND_FRAME_ARRAYS, episode_robot_hand_arrays

            robot_arrays, robot_meta, robot_failed = episode_robot_hand_arrays(arrays, self.robot_configs)
            arrays.update(robot_arrays)
            strings.update(robot_meta)
            frame_columns = (*frame_columns, *ROBOT_HAND_FRAME_ARRAYS)
        write_episode_arrays(work, name, arrays, frame_id, PART_HAND_COLUMNS, frame_columns, strings)
        return {"frames": seen, "frames_used": len(rows), "hands": n_hands, "rejected": rejected,
                "robot_hand_failed": robot_failed,
                "estimates_withheld": pipe.withheld, "tracks_ended": pipe.tracker.ended,
                "intrinsics": intr.source, "K_px": np.asarray(intr.K_px).tolist()}

    def _lerobot_video(self, src, frame_id: str, w: int, h: int, work: Path):
        """The part's ``LeRobotWriter`` (made at the input's first frame: the features of ``wildhands-bag
        export --format lerobot`` in the camera's optical frame, the video at the source's rate rounded)
        with a new episode begun; InputFailedError("unreadable") for a size the video cannot take."""
        from wildhands_offline.lerobot_export import VIDEO_KEY, dataset_fps, robot_hand_feature
        from wildhands_offline.lerobot_features import ROBOT_TYPE, lerobot_features
        from wildhands_offline.lerobot_writer import LeRobotWriter

        if self._lerobot is None:
            if w % 2 or h % 2:
                raise InputFailedError("unreadable", f"{w}x{h} frames: the LeRobot video (yuv420p) needs an "
                                       "even width and height")
            fps = dataset_fps(src.fps, None)
            features = lerobot_features(frame_id, robot_hand_feature(self.cfg.export_config()))
            self._lerobot = LeRobotWriter(work / LEROBOT_PART, fps, features, VIDEO_KEY, (w, h), ROBOT_TYPE)
        if self._lerobot.image_size_wh != (w, h):
            raise InputFailedError("unreadable", f"episode frames of {w}x{h}, the input's first were "
                                   f"{self._lerobot.image_size_wh[0]}x{self._lerobot.image_size_wh[1]}")
        self._lerobot.begin_episode()
        return self._lerobot

    def _lerobot_episode(self, rows: list[dict], name: str, inp: BatchInput) -> dict[str, int]:
        """End the part's LeRobot episode of ``rows`` (every row a frame of its video) with the columns
        of ``wildhands-bag export --format lerobot``; returns the frames whose retargeting failed."""
        from wildhands_offline.lerobot_export import episode_columns

        writer, ecfg = self._lerobot, self.cfg.export_config()
        stamps = [r["stamp_ns"] for r in rows]
        cols, masks, info, _ = episode_columns({r["stamp_ns"]: r for r in rows}, ecfg, None, Counter(),
                                               stamps, [True] * len(rows), writer.fps)
        writer.end_episode(cols, ecfg.task, {"source_bag": inp.path, "source_name": name}, masks)
        return info.get("robot_hand_failed", {})
