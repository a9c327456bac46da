"""Recorded bags for the bag-tool tests, written with rosbags (both storages): a camera sequence with known
defects, and HandArray bags with known values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rosbags.rosbag2 import StoragePlugin, Writer

from wildhands_core.config import ModelConfig
from wildhands_core.estimate import HandEstimate
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.model.wildhands import WildHands
from wildhands_core.model.wildhands_net import WildHandsNet
from wildhands_offline.hand_fields import stamp_fields
from wildhands_offline.messages import from_fields, hand_array_msg
from wildhands_offline.types import CAMERA_INFO, COMPRESSED_IMAGE, HAND_ARRAY, HAND_BOX_ARRAY, IMAGE

W, H = 64, 48
FOCAL = 80.0
CAMERA_FRAME = "cam_optical"
IMAGE_TOPIC = "/cam/image_raw"
INFO_TOPIC = "/cam/camera_info"
BOXES_TOPIC = "/hands/boxes"
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
RIGHT_BOX = (30.0, 10.0, 56.0, 36.0)
LEFT_BOX = (4.0, 12.0, 28.0, 36.0)


def small_estimator() -> HandPoseEstimator:
    torch.manual_seed(0)
    model = WildHands(WildHandsNet(ModelConfig(backbone="resnet18"))).eval()
    return HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=model)


def frame_image(i: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB, different per frame (a smooth gradient plus a moving square)."""
    y, x = np.mgrid[0:H, 0:W]
    img = np.stack([(x * 4 + i * 7) % 256, (y * 5) % 256, np.full_like(x, 40 + i)], axis=-1).astype(np.uint8)
    img[10:30, (i * 3) % 40: (i * 3) % 40 + 16] = 220
    return img


@dataclass
class FrameSpec:
    """One recorded image. ``defect``: None (good) | "truncated" (data cut: image_layout) | "cdr" (recorded
    bytes cut: deserialize) | "encoding" (yuv422) | "no_info" | "size" (CameraInfo of another size) |
    "jpeg_corrupt" (CompressedImage with junk). ``encoding``: rgb8 | bgr8 | mono8 | jpeg (compressed)."""

    index: int
    stamp_ns: int
    log_time_ns: int
    defect: str | None = None
    encoding: str = "rgb8"
    boxes: list[tuple[tuple[float, float, float, float], bool]] = field(default_factory=list)


def _image_fields(spec: FrameSpec) -> dict:
    rgb = frame_image(spec.index)
    header = {"stamp": stamp_fields(spec.stamp_ns), "frame_id": CAMERA_FRAME}
    if spec.encoding == "bgr8":
        data, enc, step = rgb[..., ::-1], "bgr8", W * 3
    elif spec.encoding == "mono8":
        data, enc, step = rgb[..., 1], "mono8", W
    else:
        data, enc, step = rgb, "rgb8", W * 3
    data = np.ascontiguousarray(data).reshape(-1)
    if spec.defect == "encoding":
        enc, step, data = "yuv422", W * 2, np.zeros(W * 2 * H, np.uint8)
    if spec.defect == "truncated":
        data = data[: len(data) // 2]
    return {"header": header, "height": H, "width": W, "encoding": enc, "is_bigendian": 0, "step": step,
            "data": data}


def _info_fields(stamp_ns: int, width: int = W, height: int = H) -> dict:
    return {
        "header": {"stamp": stamp_fields(stamp_ns), "frame_id": CAMERA_FRAME},
        "height": height, "width": width, "distortion_model": "plumb_bob", "d": np.zeros(5),
        "k": np.array([FOCAL, 0, (W - 1) / 2, 0, FOCAL, (H - 1) / 2, 0, 0, 1.0]),
        "r": np.eye(3).reshape(-1),
        "p": np.array([FOCAL, 0, (W - 1) / 2, 0, 0, FOCAL, (H - 1) / 2, 0, 0, 0, 1.0, 0]),
    }


def write_camera_bag(path: Path, storage: str, frames: list[FrameSpec], ts) -> None:
    """Image (or CompressedImage) + CameraInfo (+ boxes for frames that have some), in log-time order; the
    CameraInfo and boxes are logged 1 ms after their image."""
    import cv2

    compressed = any(f.encoding == "jpeg" for f in frames)
    w = Writer(path, version=9, storage_plugin=STORAGES[storage])
    with w:
        img_c = w.add_connection(IMAGE_TOPIC + ("/compressed" if compressed else ""),
                                 COMPRESSED_IMAGE if compressed else IMAGE, typestore=ts)
        info_c = w.add_connection(INFO_TOPIC, CAMERA_INFO, typestore=ts)
        box_c = w.add_connection(BOXES_TOPIC, HAND_BOX_ARRAY, typestore=ts)
        for f in frames:
            if compressed:
                header = {"stamp": stamp_fields(f.stamp_ns), "frame_id": CAMERA_FRAME}
                _, jpg = cv2.imencode(".png", cv2.cvtColor(frame_image(f.index), cv2.COLOR_RGB2BGR))
                data = np.frombuffer(b"not an image at all", np.uint8) if f.defect == "jpeg_corrupt" else jpg
                raw = ts.serialize_cdr(from_fields(ts, COMPRESSED_IMAGE, {"header": header, "format": "png",
                                                                          "data": data.reshape(-1)}),
                                       COMPRESSED_IMAGE)
            else:
                raw = ts.serialize_cdr(from_fields(ts, IMAGE, _image_fields(f)), IMAGE)
            if f.defect == "cdr":
                raw = bytes(raw)[:60]
            w.write(img_c, f.log_time_ns, raw)
            if f.defect != "no_info":
                size = (W + 2, H) if f.defect == "size" else (W, H)
                info = from_fields(ts, CAMERA_INFO, _info_fields(f.stamp_ns, *size))
                w.write(info_c, f.log_time_ns + 1_000_000, ts.serialize_cdr(info, CAMERA_INFO))
            if f.boxes:
                boxes = {
                    "header": {"stamp": stamp_fields(f.stamp_ns), "frame_id": CAMERA_FRAME},
                    "boxes_xyxy_px": np.array([v for b, _ in f.boxes for v in b], np.float32),
                    "handedness": np.array([1 if r else 0 for _, r in f.boxes], np.uint8),
                    "scores": np.array([0.9] * len(f.boxes), np.float32),
                }
                w.write(box_c, f.log_time_ns + 1_000_000,
                        ts.serialize_cdr(from_fields(ts, HAND_BOX_ARRAY, boxes), HAND_BOX_ARRAY))


def random_estimate(rng: np.random.Generator, is_right: bool, track_id: int = -1) -> HandEstimate:
    """A HandEstimate with random (finite) values of the right shapes."""
    p = rng.random(9)
    return HandEstimate(
        is_right=is_right,
        global_orient_aa=rng.normal(size=3),
        hand_pose_aa=rng.normal(size=45) * 0.3,
        betas=rng.normal(size=10),
        transl_m=rng.normal(size=3) * 0.1,
        joints_m=rng.normal(size=(21, 3)) * 0.05 + [0, 0, 0.5],
        keypoints_px=rng.random((21, 2)) * 100,
        box_xyxy_px=np.array([1.0, 2.0, 30.0, 40.0]) + rng.random(4),
        crop_xyxy_px=np.array([0.0, 0.0, 50.0, 50.0]) + rng.random(4),
        confidence=float(rng.random()),
        grasp_prob=p / p.sum(),
        track_id=track_id,
    )


def write_hands_bag(path: Path, storage: str, frames: list[tuple[int, list[HandEstimate]]], ts,
                    raw_overrides: dict[int, bytes] | None = None, topic: str = "/wildhands/hands") -> None:
    """HandArray messages (stamp ns, estimates), logged at their stamp + 5 ms; ``raw_overrides[i]``
    replaces the bytes recorded for message ``i``."""
    w = Writer(path, version=9, storage_plugin=STORAGES[storage])
    with w:
        c = w.add_connection(topic, HAND_ARRAY, typestore=ts)
        for i, (stamp, ests) in enumerate(frames):
            raw = ts.serialize_cdr(hand_array_msg(ts, ests, stamp, CAMERA_FRAME, (W, H)), HAND_ARRAY)
            w.write(c, stamp + 5_000_000, (raw_overrides or {}).get(i, raw))
