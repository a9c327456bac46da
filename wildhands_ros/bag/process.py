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

Frames that cannot be used are counted by reason (``wildhands_ros.bag.frames.REASONS``) and listed
(log time, stamp, reason) in the returned :class:`ProcessSummary`, also written as JSON beside the output
(``<OUT>.summary.json``). The output bag is written under a temporary directory beside OUT and renamed at
the end: an interrupted run leaves no OUT.

Batching: without tracking, the frames of ``batch_size`` images go through the network in one
``HandPoseEstimator.estimate_batch`` call. With ``tracking`` the frames go one by one through
``wildhands_core.pipeline.HandPipeline`` (tracker + smoothing need the previous frame's result).
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from wildhands_core.camera import DEMO_FOCAL_PX
from wildhands_core.detection.base import HandDetector
from wildhands_core.estimate import HandBox, HandEstimate
from wildhands_core.estimator import EstimatorConfig
from wildhands_core.pipeline import HandPipeline, PipelineConfig, build_detector
from wildhands_ros.bag.atomic import atomic_path, write_json_atomic
from wildhands_ros.bag.frames import (
    REASONS,
    RejectedFrameError,
    camera_info_to_K,
    compressed_to_rgb,
    image_to_rgb,
)
from wildhands_ros.bag.messages import hand_array_msg, tf_msg
from wildhands_ros.bag.types import (
    CAMERA_INFO,
    COMPRESSED_IMAGE,
    HAND_ARRAY,
    HAND_BOX_ARRAY,
    IMAGE,
    TF_MESSAGE,
    make_typestore,
    register_bag_types,
)
from wildhands_ros.hand_fields import detections_from_box_fields

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def offline_pipeline_config(**overrides: Any) -> PipelineConfig:
    """``PipelineConfig`` of offline processing (``overrides`` replace its fields): the recorded boxes (the
    "external" source, used when the bag has a boxes topic) are all read before the frames, so no frame
    waits for them (``external_wait_s`` 0)."""
    return PipelineConfig(**{"detector_sources": ("external",), "external_wait_s": 0.0, **overrides})


@dataclass
class ProcessConfig:
    """Settings of :func:`process_bag` (none is a paper hyper-parameter)."""

    image_topic: str | None = None  # None = the only Image/CompressedImage topic of the bag
    info_topic: str | None = None  # None = <image namespace>/camera_info, else the only CameraInfo topic
    boxes_topic: str | None = None  # recorded wildhands_ros/HandBoxArray boxes (the "external" source)
    info_tolerance_ns: int = 0  # max |image stamp - CameraInfo stamp|; 0 = same stamp
    demo_intrinsics_without_info: bool = False  # no CameraInfo: the release demo's K instead of rejecting
    batch_size: int = 8  # frames per network batch (no tracking)
    storage: str = "mcap"  # output storage: "mcap" | "sqlite3"
    hands_topic: str = "/wildhands/hands"
    tf: bool = True
    tf_prefix: str = "hand_"
    camera_frame: str | None = None  # overrides the images' header.frame_id
    copy_topics: tuple[str, ...] | None = None  # input topics copied through; None = none, ("*",) = all
    with_vertices: bool = False  # fill Hand.vertices_m (estimator needs return_vertices)
    max_hands: int = EstimatorConfig.max_hands  # most confident boxes kept per frame (no tracking)
    tracking: bool = False  # HandPipeline per frame (tracker ids + smoothing), no batching
    pipeline: PipelineConfig = field(default_factory=offline_pipeline_config)
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {self.storage!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if any(c in self.tf_prefix for c in " /"):
            raise ValueError(f"tf_prefix must not contain spaces or '/', got {self.tf_prefix!r}")


@dataclass
class ProcessSummary:
    """What a run did. ``rejected``: frames not used, by reason; ``rejected_frames``: one entry per such
    frame, ``{"log_time_ns", "stamp_ns" (None when unknown), "reason", "message"}``."""

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
    hands: list[HandEstimate] | None = None


def _stamp_ns(header) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


def _pick_topics(reader: Reader, cfg: ProcessConfig) -> tuple[object, object | None, object | None]:
    """(image connection, CameraInfo connection or None, boxes connection or None)."""
    by_topic = {c.topic: c for c in reader.connections}
    if cfg.image_topic is not None:
        if cfg.image_topic not in by_topic:
            raise ValueError(f"image topic {cfg.image_topic!r} not in the bag; topics: {sorted(by_topic)}")
        image = by_topic[cfg.image_topic]
        if image.msgtype not in (IMAGE, COMPRESSED_IMAGE):
            raise ValueError(f"{cfg.image_topic} has type {image.msgtype}, not an image")
    else:
        images = [c for c in reader.connections if c.msgtype in (IMAGE, COMPRESSED_IMAGE)]
        if len(images) != 1:
            raise ValueError(
                f"{len(images)} image topics in the bag ({[c.topic for c in images]}); "
                "choose one (--image-topic)"
            )
        image = images[0]
    info = None
    if cfg.info_topic is not None:
        if cfg.info_topic not in by_topic or by_topic[cfg.info_topic].msgtype != CAMERA_INFO:
            raise ValueError(f"CameraInfo topic {cfg.info_topic!r} not in the bag")
        info = by_topic[cfg.info_topic]
    else:
        infos = [c for c in reader.connections if c.msgtype == CAMERA_INFO]
        ns = image.topic.removesuffix("/compressed").rsplit("/", 1)[0]
        same_ns = [c for c in infos if c.topic == f"{ns}/camera_info"]
        if same_ns:
            info = same_ns[0]
        elif len(infos) == 1:
            info = infos[0]
        elif len(infos) > 1:
            raise ValueError(
                f"{len(infos)} CameraInfo topics ({[c.topic for c in infos]}); choose one (--info-topic)")
    boxes = None
    if cfg.boxes_topic is not None:
        if cfg.boxes_topic not in by_topic or by_topic[cfg.boxes_topic].msgtype != HAND_BOX_ARRAY:
            raise ValueError(f"boxes topic {cfg.boxes_topic!r} ({HAND_BOX_ARRAY}) not in the bag")
        boxes = by_topic[cfg.boxes_topic]
    return image, info, boxes


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


def _demo_K(w: int, h: int) -> np.ndarray:
    return np.array([[DEMO_FOCAL_PX, 0, (w - 1) / 2], [0, DEMO_FOCAL_PX, (h - 1) / 2], [0, 0, 1]], np.float64)


def process_bag(
    in_bag: str | Path,
    out_bag: str | Path,
    estimator,
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
        image_conn, info_conn, boxes_conn = _pick_topics(reader, cfg)
        summary = ProcessSummary(
            input=str(in_bag), output=str(out_bag), storage=cfg.storage, image_topic=image_conn.topic,
            info_topic=info_conn.topic if info_conn else None,
            boxes_topic=boxes_conn.topic if boxes_conn else None,
        )
        # pass 1: the small side topics (CameraInfo, boxes) into stamp indexes
        infos = _InfoIndex(cfg.info_tolerance_ns)
        boxes_by_stamp: dict[int, list] = {}
        side = [c for c in (info_conn, boxes_conn) if c is not None]
        for conn, _, raw in reader.messages(connections=side) if side else ():
            try:
                msg = ts.deserialize_cdr(raw, conn.msgtype)
                stamp = _stamp_ns(msg.header)
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

        # detector: the plugged one and/or the configured sources (+ "external" for the boxes topic)
        pcfg = cfg.pipeline
        sources = tuple(s for s in pcfg.detector_sources if s != "external" or boxes_conn is not None)
        if boxes_conn is not None and "external" not in sources:
            sources = (*sources, "external")
        pcfg = PipelineConfig(**{**{k: getattr(pcfg, k) for k in pcfg.__dataclass_fields__},
                                 "detector_sources": sources})
        built, external, skipped = build_detector(pcfg)
        if detector is not None:
            from wildhands_core.detection.base import CombinedDetector

            parts = [detector] + ([built] if built is not None else [])
            det = CombinedDetector(parts, pcfg.detector_iou_threshold, pcfg.detector_min_score)
        else:
            det = built
        if det is None:
            raise ValueError(
                f"no hand detector: give a boxes topic or a detector (skipped sources: {skipped})")
        pipeline = HandPipeline(estimator, pcfg, detector=det) if cfg.tracking else None

        copy_conns = []
        if cfg.copy_topics:
            copy_conns = [c for c in reader.connections
                          if "*" in cfg.copy_topics or c.topic in cfg.copy_topics]
        data_conns = list({c.id: c for c in [image_conn, *copy_conns]}.values())
        total = sum(c.msgcount for c in data_conns)

        with atomic_path(out_bag, cfg.overwrite) as work:
            writer = Writer(work, version=9, storage_plugin=STORAGES[cfg.storage])
            writer.open()
            try:
                hands_out = writer.add_connection(cfg.hands_topic, HAND_ARRAY, typestore=ts)
                tf_out = writer.add_connection("/tf", TF_MESSAGE, typestore=ts) if cfg.tf else None
                copy_out = {}
                for c in copy_conns:
                    if tf_out is not None and c.topic == "/tf" and c.msgtype == TF_MESSAGE:
                        copy_out[c.id] = tf_out  # the recorded /tf and the hands' transforms in one topic
                        continue
                    try:
                        if c.msgdef.data and c.digest:
                            out = writer.add_connection(
                                c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest,
                                serialization_format=c.ext.serialization_format,
                                offered_qos_profiles=c.ext.offered_qos_profiles)
                        else:
                            out = writer.add_connection(c.topic, c.msgtype, typestore=ts,
                                                        serialization_format=c.ext.serialization_format,
                                                        offered_qos_profiles=c.ext.offered_qos_profiles)
                        copy_out[c.id] = out
                    except Exception:
                        summary.copy_skipped_topics.append(c.topic)

                rejected: Counter[str] = Counter()
                pending: list[tuple[int, int, object, bytes | None]] = []  # (log time, order, conn, raw)
                batch: list[_Frame] = []
                first_last = [None, None]

                def reject(log_time: int, stamp: int | None, exc: RejectedFrameError) -> None:
                    rejected[exc.reason] += 1
                    summary.rejected_frames.append(
                        {"log_time_ns": log_time, "stamp_ns": stamp, "reason": exc.reason,
                         "message": str(exc)})

                def flush() -> None:
                    t0 = time.perf_counter()
                    _estimate(batch, estimator, det, external, boxes_by_stamp, pipeline, cfg, reject)
                    dt = time.perf_counter() - t0
                    summary.estimate_s += dt
                    good = [f for f in batch if f.hands is not None]
                    per_frame_ms = 1000.0 * dt / max(len(good), 1)
                    for f in good:
                        pending.append((f.log_time_ns, len(pending), None, f))
                    pending.sort(key=lambda p: (p[0], p[1]))
                    for log_time, _, conn, item in pending:
                        if conn is not None:
                            writer.write(copy_out[conn.id], log_time, item)
                            summary.copied_messages += 1
                            continue
                        frame_id = cfg.camera_frame or item.frame_id
                        size = (item.rgb.shape[1], item.rgb.shape[0])
                        arr = hand_array_msg(ts, item.hands, item.stamp_ns, frame_id, size, per_frame_ms,
                                             cfg.with_vertices)
                        writer.write(hands_out, log_time, ts.serialize_cdr(arr, HAND_ARRAY))
                        if tf_out is not None and item.hands:
                            tf = tf_msg(ts, item.hands, item.stamp_ns, frame_id, cfg.tf_prefix)
                            writer.write(tf_out, log_time, ts.serialize_cdr(tf, TF_MESSAGE))
                        summary.frames_written += 1
                        summary.hands_written += len(item.hands)
                        if on_frame is not None:
                            on_frame(summary.frames_written)
                    pending.clear()
                    batch.clear()

                from tqdm import tqdm

                bar = tqdm(total=total, unit="msg", desc=f"process {in_bag.name}", disable=not cfg.progress)
                for conn, log_time, raw in reader.messages(connections=data_conns):
                    bar.update(1)
                    if conn.id in copy_out:
                        pending.append((log_time, len(pending), conn, raw))
                    if conn.id != image_conn.id:
                        continue
                    summary.frames_total += 1
                    frame = _decode_frame(ts, conn.msgtype, log_time, raw, infos, cfg, reject)
                    if frame is None:
                        continue
                    first_last[0] = frame.stamp_ns if first_last[0] is None else first_last[0]
                    first_last[1] = frame.stamp_ns
                    batch.append(frame)
                    if len(batch) >= (1 if cfg.tracking else cfg.batch_size):
                        flush()
                flush()
                bar.close()
            finally:
                writer.close()
        summary.rejected = {r: rejected[r] for r in REASONS if rejected[r]}
        if first_last[0] is not None:
            summary.bag_duration_s = max(first_last[1] - first_last[0], 0) / 1e9
    summary.wall_s = time.perf_counter() - t_start
    summary.realtime_factor = summary.bag_duration_s / summary.wall_s if summary.wall_s > 0 else 0.0
    write_json_atomic(summary_path(out_bag), summary.to_dict())
    return summary


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
        stamp = _stamp_ns(msg.header)
        rgb = compressed_to_rgb(msg) if msgtype == COMPRESSED_IMAGE else image_to_rgb(msg)
        h, w = rgb.shape[:2]
        info = infos.find(stamp)
        if info is not None:
            K = camera_info_to_K(info, (w, h))
        elif cfg.demo_intrinsics_without_info:
            K = _demo_K(w, h)
        else:
            raise RejectedFrameError("camera_info_missing",
                                f"no CameraInfo within {cfg.info_tolerance_ns} ns of stamp {stamp}")
        if h < 2 or w < 2:
            raise RejectedFrameError("empty_image", f"image too small: {w}x{h}")
    except RejectedFrameError as exc:
        reject(log_time, stamp, exc)
        return None
    return _Frame(log_time, stamp, str(msg.header.frame_id), rgb, K)


def _estimate(batch: list[_Frame], estimator, det, external, boxes_by_stamp, pipeline, cfg: ProcessConfig,
              reject) -> None:
    """Fill ``hands`` of each frame of ``batch`` (None after ``reject`` when the estimator failed)."""
    if not batch:
        return
    if pipeline is not None:
        for f in batch:
            if external is not None and f.stamp_ns in boxes_by_stamp:
                external.set_boxes(f.stamp_ns, boxes_by_stamp[f.stamp_ns])
            try:
                f.hands = pipeline.process(f.rgb, f.K_px, f.stamp_ns)
            except ValueError as exc:
                reject(f.log_time_ns, f.stamp_ns, RejectedFrameError("estimate", str(exc)))
        return
    inputs = []
    for f in batch:
        if external is not None and f.stamp_ns in boxes_by_stamp:
            external.set_boxes(f.stamp_ns, boxes_by_stamp[f.stamp_ns])
        dets = sorted(det.detect(f.rgb, f.stamp_ns), key=lambda d: -d.score)[: cfg.max_hands]
        inputs.append((f.rgb, f.K_px, [HandBox(d.box_xyxy_px, d.is_right, d.score) for d in dets]))
    try:
        results = estimator.estimate_batch(inputs)
    except ValueError:  # find the frame(s) at fault; the others keep their estimates
        results = []
        for f, inp in zip(batch, inputs, strict=True):
            try:
                results.append(estimator.estimate_batch([inp])[0])
            except ValueError as exc:
                reject(f.log_time_ns, f.stamp_ns, RejectedFrameError("estimate", str(exc)))
                results.append(None)
    for f, hands in zip(batch, results, strict=True):
        f.hands = hands
