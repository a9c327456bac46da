"""Offline hand estimation on a recorded rosbag2 (sqlite3 or MCAP): images in, a new bag of hands out.

    summary = process_bag("in_bag", "out_bag", estimator, ProcessConfig(boxes_topic="/hands/boxes"))

Input: one image topic (``sensor_msgs/Image`` or ``CompressedImage``) and its ``sensor_msgs/CameraInfo``
topic (found by type, or named); hand boxes from a detector (any ``detect(image_rgb, stamp_ns)`` object),
from the configured ``PipelineConfig.detector_sources`` and/or a recorded ``wildhands_ros/HandBoxArray``
topic (``boxes_topic``; boxes are paired with images by header stamp, exactly).
A CameraInfo is paired with an image by header stamp: the closest one within ``info_tolerance_ns``
(default 0 = the same stamp, as a camera driver publishes them).

Output (rosbag2, MCAP by default, or sqlite3): ``wildhands_ros/msg/HandArray`` on ``hands_topic`` for EVERY
usable image (empty ``hands`` when none was found) and ``tf2_msgs/msg/TFMessage`` on ``/tf`` (camera
optical frame -> ``<tf_prefix>left_wrist`` / ``<tf_prefix>right_wrist``), both stamped with the image's
header stamp and written at the image's bag log time; optionally the input topics copied through
unchanged. ``HandArray.latency_ms`` holds the offline compute time per frame (ms). 3D in metres in the
image's camera optical frame (x right, y down, z forward), 2D in pixels of the original image.

Frames that cannot be used are counted by reason (``wildhands_offline.frames.REASONS``) and listed
(log time, stamp, reason) in the returned :class:`ProcessSummary`, also written as JSON beside the output
(``<OUT>.summary.json``). The output bag is written under a temporary directory beside OUT and renamed at
the end: an interrupted run leaves no OUT.

Every image goes through ``wildhands_core.pipeline.HandPipeline``, the node's path, as
``ProcessConfig.pipeline`` configures it: with tracking off (the default, ``offline_pipeline_config``) the
``max_hands`` most confident detections of each image are estimated, ``track_id`` = -1; with tracking the
tracker gives ids and the smoother filters (frames in bag order).
"""

from __future__ import annotations

import bisect
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from wildhands_core.camera import demo_K
from wildhands_core.detection.base import CombinedDetector, ExternalBoxes, HandDetector
from wildhands_core.estimate import HandEstimate
from wildhands_core.estimator import EstimatorConfig
from wildhands_core.pipeline import Estimator, HandPipeline, PipelineConfig, build_detector
from wildhands_core.stamps import ns_to_seconds, stamp_to_ns
from wildhands_core.tracking.config import TrackerConfig
from wildhands_offline.atomic import atomic_path, write_json_atomic
from wildhands_offline.frames import (
    REASONS,
    RejectedFrameError,
    camera_info_to_K,
    compressed_to_rgb,
    image_to_rgb,
)
from wildhands_offline.hand_fields import detections_from_box_fields, frame_prefix_problem
from wildhands_offline.messages import hand_array_msg, tf_msg
from wildhands_offline.topics import pick_boxes, pick_image, pick_info
from wildhands_offline.types import (
    COMPRESSED_IMAGE,
    HAND_ARRAY,
    TF_MESSAGE,
    make_typestore,
    register_bag_types,
)

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def offline_pipeline_config(
    tracking: bool = False, max_hands: int = EstimatorConfig.max_hands, **overrides: Any
) -> PipelineConfig:
    """``PipelineConfig`` of offline processing (``overrides`` replace its fields): the recorded boxes (the
    "external" source, used when the bag has a boxes topic) are all read before the frames, so no frame
    waits for them (``external_wait_s`` 0).

    ``tracking`` off (the default): each image's ``max_hands`` most confident detections are estimated
    (the tracker's ``max_hands``; ``track_id`` -1, no smoothing); on: the node's tracker and smoother, which
    follow ``TrackerConfig.max_hands`` hands (``max_hands`` is not used)."""
    base: dict[str, Any] = {"detector_sources": ("external",), "external_wait_s": 0.0, "tracking": tracking}
    if not tracking:
        base["tracker"] = TrackerConfig(max_hands=max_hands)
    return PipelineConfig(**{**base, **overrides})


@dataclass
class ProcessConfig:
    """Settings of :func:`process_bag` (none is a paper hyper-parameter)."""

    image_topic: str | None = None  # None = the only Image/CompressedImage topic of the bag
    info_topic: str | None = None  # None = <image namespace>/camera_info, else the only CameraInfo topic
    boxes_topic: str | None = None  # recorded wildhands_ros/HandBoxArray boxes (the "external" source)
    info_tolerance_ns: int = 0  # max |image stamp - CameraInfo stamp|; 0 = same stamp
    demo_intrinsics_without_info: bool = False  # no CameraInfo: the release demo's K instead of rejecting
    storage: str = "mcap"  # output storage: "mcap" | "sqlite3"
    hands_topic: str = "/wildhands/hands"
    tf: bool = True
    tf_prefix: str = "hand_"
    camera_frame: str | None = None  # overrides the images' header.frame_id
    copy_topics: tuple[str, ...] | None = None  # input topics copied through; None = none, ("*",) = all
    with_vertices: bool = False  # fill Hand.vertices_m (estimator needs return_vertices)
    #: detectors, tracking (off by default: see offline_pipeline_config) and smoothing
    pipeline: PipelineConfig = field(default_factory=offline_pipeline_config)
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {self.storage!r}")
        if problem := frame_prefix_problem(self.tf_prefix):
            raise ValueError(f"tf_prefix {self.tf_prefix!r} {problem}")


@dataclass
class ProcessSummary:
    """What a run did. ``rejected``: frames not used, by reason; ``rejected_frames``: one entry per such
    frame, ``{"log_time_ns", "stamp_ns" (None when unknown), "reason", "message"}``; ``estimates_withheld``:
    estimates of published hands left out because they did not look like a hand, by reason
    (``HandPipeline.withheld``); ``tracks_ended``: tracks ended, by reason (``HandTracker.ended``)."""

    input: str
    output: str
    storage: str
    image_topic: str
    info_topic: str | None
    boxes_topic: str | None
    frames_total: int = 0
    frames_written: int = 0
    hands_written: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_frames: list[dict] = field(default_factory=list)
    estimates_withheld: dict[str, int] = field(default_factory=dict)
    tracks_ended: dict[str, int] = field(default_factory=dict)
    boxes_malformed: int = 0
    info_malformed: int = 0
    copied_messages: int = 0
    copy_skipped_topics: list[str] = field(default_factory=list)
    bag_duration_s: float = 0.0
    wall_s: float = 0.0
    estimate_s: float = 0.0
    realtime_factor: float = 0.0  # bag duration / wall time (> 1: faster than real time)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Frame:
    log_time_ns: int
    stamp_ns: int
    frame_id: str
    rgb: np.ndarray
    K_px: np.ndarray


class _InfoIndex:
    """CameraInfo messages by header stamp; ``find(stamp)`` = the closest within the tolerance."""

    def __init__(self, tolerance_ns: int) -> None:
        self.tolerance_ns = int(tolerance_ns)
        self.stamps: list[int] = []
        self.msgs: dict[int, object] = {}

    def add(self, stamp_ns: int, msg) -> None:
        if stamp_ns not in self.msgs:
            bisect.insort(self.stamps, stamp_ns)
        self.msgs[stamp_ns] = msg

    def find(self, stamp_ns: int):
        i = bisect.bisect_left(self.stamps, stamp_ns)
        near = [s for s in self.stamps[max(i - 1, 0): i + 1] if abs(s - stamp_ns) <= self.tolerance_ns]
        return self.msgs[min(near, key=lambda s: abs(s - stamp_ns))] if near else None


def _read_side_topics(reader: Reader, ts, info_conn, boxes_conn, cfg: ProcessConfig,
                      summary: ProcessSummary) -> tuple[_InfoIndex, dict[int, list]]:
    """The small side topics (CameraInfo, boxes) into stamp indexes; malformed ones counted in ``summary``."""
    infos = _InfoIndex(cfg.info_tolerance_ns)
    boxes_by_stamp: dict[int, list] = {}
    side = [c for c in (info_conn, boxes_conn) if c is not None]
    for conn, _, raw in reader.messages(connections=side) if side else ():
        try:
            msg = ts.deserialize_cdr(raw, conn.msgtype)
            stamp = stamp_to_ns(msg.header.stamp)
            if conn is info_conn:
                infos.add(stamp, msg)
            else:
                boxes_by_stamp[stamp] = detections_from_box_fields(
                    msg.boxes_xyxy_px, msg.handedness, msg.scores, "external")
        except Exception:
            if conn is info_conn:
                summary.info_malformed += 1
            else:
                summary.boxes_malformed += 1
    return infos, boxes_by_stamp


def _build_pipeline(estimator: Estimator, cfg: ProcessConfig, detector: HandDetector | None,
                    has_boxes_topic: bool) -> tuple[HandPipeline, ExternalBoxes | None]:
    """The pipeline of ``cfg`` and its external box store (fed from the boxes topic, or None).

    Detector: the plugged ``detector`` and/or the configured sources ("external" only with a boxes topic,
    and added when there is one), combined by NMS per side. Tracking as ``cfg.pipeline`` says (without it the
    pipeline keeps the tracker's ``max_hands`` most confident detections)."""
    pcfg = cfg.pipeline
    sources = tuple(s for s in pcfg.detector_sources if s != "external" or has_boxes_topic)
    if has_boxes_topic and "external" not in sources:
        sources = (*sources, "external")
    pcfg = dataclasses.replace(pcfg, detector_sources=sources)
    built, external, skipped = build_detector(pcfg)
    det = built
    if detector is not None:
        parts = [detector] + ([built] if built is not None else [])
        det = CombinedDetector(parts, pcfg.detector_iou_threshold, pcfg.detector_min_score)
    if det is None:
        raise ValueError(f"no hand detector: give a boxes topic or a detector (skipped sources: {skipped})")
    return HandPipeline(estimator, pcfg, detector=det), external


class _BagOutput:
    """The output bag's connections and what is written to them (hands, /tf, copied messages)."""

    def __init__(self, writer: Writer, ts, cfg: ProcessConfig, copy_conns: list, summary: ProcessSummary,
                 on_frame: Callable[[int], None] | None) -> None:
        self.writer, self.ts, self.cfg, self.summary, self.on_frame = writer, ts, cfg, summary, on_frame
        self.hands = writer.add_connection(cfg.hands_topic, HAND_ARRAY, typestore=ts)
        self.tf = writer.add_connection("/tf", TF_MESSAGE, typestore=ts) if cfg.tf else None
        self.copies: dict[int, object] = {}
        for c in copy_conns:
            if self.tf is not None and c.topic == "/tf" and c.msgtype == TF_MESSAGE:
                self.copies[c.id] = self.tf  # the recorded /tf and the hands' transforms in one topic
                continue
            try:
                self.copies[c.id] = self._copy_connection(c)
            except Exception:
                summary.copy_skipped_topics.append(c.topic)

    def _copy_connection(self, c):
        """A connection of the output like the input's ``c`` (its own definition when recorded)."""
        qos = {"serialization_format": c.ext.serialization_format,
               "offered_qos_profiles": c.ext.offered_qos_profiles}
        if c.msgdef.data and c.digest:
            return self.writer.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest,
                                              **qos)
        return self.writer.add_connection(c.topic, c.msgtype, typestore=self.ts, **qos)

    def copy(self, conn, log_time_ns: int, raw: bytes) -> None:
        """One input message, unchanged, when its topic is copied through."""
        if conn.id in self.copies:
            self.writer.write(self.copies[conn.id], log_time_ns, raw)
            self.summary.copied_messages += 1

    def frame(self, f: _Frame, hands: list[HandEstimate], compute_ms: float) -> None:
        """The HandArray (and /tf when there are hands) of one image, at the image's log time."""
        ts, cfg = self.ts, self.cfg
        frame_id = cfg.camera_frame or f.frame_id
        size = (f.rgb.shape[1], f.rgb.shape[0])
        arr = hand_array_msg(ts, hands, f.stamp_ns, frame_id, size, compute_ms, cfg.with_vertices)
        self.writer.write(self.hands, f.log_time_ns, ts.serialize_cdr(arr, HAND_ARRAY))
        if self.tf is not None and hands:
            tf = tf_msg(ts, hands, f.stamp_ns, frame_id, cfg.tf_prefix)
            self.writer.write(self.tf, f.log_time_ns, ts.serialize_cdr(tf, TF_MESSAGE))
        self.summary.frames_written += 1
        self.summary.hands_written += len(hands)
        if self.on_frame is not None:
            self.on_frame(self.summary.frames_written)


def process_bag(
    in_bag: str | Path,
    out_bag: str | Path,
    estimator: Estimator,
    cfg: ProcessConfig | None = None,
    detector: HandDetector | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> ProcessSummary:
    """Run ``estimator`` (a ``HandPoseEstimator``) over the images of ``in_bag``; see the module docstring.

    ``detector``: plugs in any hand detector (used in addition to a ``boxes_topic``, combined by NMS per
    side); None = the detectors of ``cfg.pipeline.detector_sources``. ``on_frame(n_written)`` is called
    after each frame written (progress hook; an exception raised there aborts the run, leaving no output).
    """
    cfg = cfg if cfg is not None else ProcessConfig()
    in_bag, out_bag = Path(in_bag), Path(out_bag)
    t_start = time.perf_counter()
    ts = make_typestore()
    with Reader(in_bag) as reader:
        register_bag_types(ts, reader.connections)
        image_conn = pick_image(reader, cfg.image_topic)
        info_conn = pick_info(reader, cfg.info_topic, image_conn.topic)
        boxes_conn = pick_boxes(reader, cfg.boxes_topic)
        summary = ProcessSummary(
            input=str(in_bag), output=str(out_bag), storage=cfg.storage, image_topic=image_conn.topic,
            info_topic=info_conn.topic if info_conn else None,
            boxes_topic=boxes_conn.topic if boxes_conn else None,
        )
        infos, boxes_by_stamp = _read_side_topics(reader, ts, info_conn, boxes_conn, cfg, summary)
        pipeline, external = _build_pipeline(estimator, cfg, detector, boxes_conn is not None)
        copy_conns = [c for c in reader.connections
                      if cfg.copy_topics and ("*" in cfg.copy_topics or c.topic in cfg.copy_topics)]
        with atomic_path(out_bag, cfg.overwrite) as work:
            writer = Writer(work, version=9, storage_plugin=STORAGES[cfg.storage])
            writer.open()
            try:
                out = _BagOutput(writer, ts, cfg, copy_conns, summary, on_frame)
                _run_frames(reader, ts, image_conn, copy_conns, infos, cfg, out,
                            lambda f: _estimate(pipeline, external, boxes_by_stamp, f))
            finally:
                writer.close()
    summary.estimates_withheld = dict(sorted(pipeline.withheld.items()))
    summary.tracks_ended = dict(pipeline.tracker.ended)
    summary.wall_s = time.perf_counter() - t_start
    summary.realtime_factor = summary.bag_duration_s / summary.wall_s if summary.wall_s > 0 else 0.0
    write_json_atomic(summary_path(out_bag), summary.to_dict())
    return summary


def _estimate(pipeline: HandPipeline, external: ExternalBoxes | None, boxes_by_stamp: dict[int, list],
              f: _Frame) -> list[HandEstimate]:
    """The hands of one frame through the pipeline, with the recorded boxes of its stamp."""
    if external is not None and f.stamp_ns in boxes_by_stamp:
        external.set_boxes(f.stamp_ns, boxes_by_stamp[f.stamp_ns])
    return pipeline.process(f.rgb, f.K_px, f.stamp_ns)


def _run_frames(reader: Reader, ts, image_conn, copy_conns: list, infos: _InfoIndex, cfg: ProcessConfig,
                out: _BagOutput, estimate: Callable[[_Frame], list[HandEstimate]]) -> None:
    """Every image of the bag decoded, estimated and written (or rejected by reason), the copied topics
    written as they come; fills the frame counts, times and rejections of ``out.summary``."""
    from tqdm import tqdm

    summary = out.summary
    rejected: Counter[str] = Counter()

    def reject(log_time: int, stamp: int | None, exc: RejectedFrameError) -> None:
        rejected[exc.reason] += 1
        summary.rejected_frames.append(
            {"log_time_ns": log_time, "stamp_ns": stamp, "reason": exc.reason, "message": str(exc)})

    data_conns = list({c.id: c for c in [image_conn, *copy_conns]}.values())
    bar = tqdm(total=sum(c.msgcount for c in data_conns), unit="msg",
               desc=f"process {Path(reader.path).name}", disable=not cfg.progress)
    stamps: list[int] = []
    for conn, log_time, raw in reader.messages(connections=data_conns):
        bar.update(1)
        out.copy(conn, log_time, raw)
        if conn.id != image_conn.id:
            continue
        summary.frames_total += 1
        frame = _decode_frame(ts, conn.msgtype, log_time, raw, infos, cfg, reject)
        if frame is None:
            continue
        stamps.append(frame.stamp_ns)
        t0 = time.perf_counter()
        try:
            hands = estimate(frame)
        except ValueError as exc:
            hands = None
            reject(frame.log_time_ns, frame.stamp_ns, RejectedFrameError("estimate", str(exc)))
        dt = time.perf_counter() - t0
        summary.estimate_s += dt
        if hands is not None:
            out.frame(frame, hands, 1000.0 * dt)
    bar.close()
    summary.rejected = {r: rejected[r] for r in REASONS if rejected[r]}
    if stamps:
        summary.bag_duration_s = ns_to_seconds(max(stamps[-1] - stamps[0], 0))


def summary_path(out_bag: str | Path) -> Path:
    """Where :func:`process_bag` writes its JSON summary: ``<OUT>.summary.json`` beside the bag directory."""
    out_bag = Path(out_bag)
    return out_bag.with_name(out_bag.name + ".summary.json")


def _decode_frame(ts, msgtype: str, log_time: int, raw: bytes, infos: _InfoIndex, cfg: ProcessConfig,
                  reject) -> _Frame | None:
    """Deserialise, decode and pair one image with its K; None (after ``reject``) when unusable."""
    stamp = None
    try:
        try:
            msg = ts.deserialize_cdr(raw, msgtype)
        except Exception as exc:
            raise RejectedFrameError("deserialize", f"{msgtype} could not be deserialised: {exc}") from exc
        stamp = stamp_to_ns(msg.header.stamp)
        rgb = compressed_to_rgb(msg) if msgtype == COMPRESSED_IMAGE else image_to_rgb(msg)
        h, w = rgb.shape[:2]
        info = infos.find(stamp)
        if info is not None:
            K = camera_info_to_K(info, (w, h))
        elif cfg.demo_intrinsics_without_info:
            K = demo_K(w, h)
        else:
            raise RejectedFrameError("camera_info_missing",
                                f"no CameraInfo within {cfg.info_tolerance_ns} ns of stamp {stamp}")
        if h < 2 or w < 2:
            raise RejectedFrameError("empty_image", f"image too small: {w}x{h}")
    except RejectedFrameError as exc:
        reject(log_time, stamp, exc)
        return None
    return _Frame(log_time, stamp, str(msg.header.frame_id), rgb, K)
