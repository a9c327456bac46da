"""`wildhands-video INPUT --checkpoint CKPT --out DIR`: hands of a video, an image folder, a camera or a
LeRobot dataset's camera video, no ROS.

INPUT: a video file (anything OpenCV reads: .mp4, .avi, .mkv, ...), a folder of images (.png, .jpg, .jpeg,
.bmp, .tif, .tiff, in name order), a camera device (``0``, ``/dev/video0``; read until Ctrl-C or
``--max-frames``), or a LeRobot v3.0 dataset folder (``--episode``, ``--video-key``; frames read as
``wildhands_offline.sources`` says). Every frame goes through the same detector + tracker + estimator +
smoother as the node (``wildhands_core.pipeline.HandPipeline``; MediaPipe by default, ``--detector learned``
for the demo's detector of synthetic renders).

Intrinsics (the tool prints which it used): ``--camera-info YAML`` (the camera_calibration format; a
distorted camera's frames are undistorted first), ``--fx --fy --cx --cy`` (pixels), ``--fov-deg``
(horizontal field of view, square pixels, centred principal point); with none, the release demo's
assumption (focal 1000 px, principal point at the image centre), which puts hands at a wrong depth.

DIR gets ``overlay.mp4`` (``--overlay mp4``, default) or ``overlay/NNNNNN.png`` (``--overlay png``), the
per-frame hands ``<name>.npz``, ``<name>_hands.parquet``, ``<name>_frames.parquet`` in exactly the layout of
``wildhands-bag export`` (``wildhands_core.episodes``; ``<name>`` = the input's name, frame stamps = the
video's time stamps, or frame index / ``--fps`` for folders, or the wall clock for cameras) and
``summary.json`` (input, intrinsics, counts, speed). Exit status 0 on success, 2 for bad arguments or input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from wildhands_core.estimator import BACKENDS, EstimatorConfig
from wildhands_core.pipeline import PipelineConfig
from wildhands_core.tracking.config import TrackerConfig
from wildhands_offline.sources import Source, open_source


def choose_intrinsics(a: argparse.Namespace, width: int, height: int):
    """The ``Intrinsics`` the arguments ask for (None: the release demo's assumption), checked against the
    frame size."""
    from wildhands_core import intrinsics

    explicit = [a.fx, a.fy, a.cx, a.cy]
    given = sum(x is not None for x in (a.camera_info, a.fov_deg)) + any(v is not None for v in explicit)
    if given > 1:
        raise ValueError("give one of --camera-info, --fx/--fy/--cx/--cy, --fov-deg")
    if a.camera_info:
        intr = intrinsics.from_camera_info_yaml(a.camera_info)
        if intr.size != (width, height):
            raise ValueError(f"{a.camera_info} is calibrated for {intr.size[0]}x{intr.size[1]}, the frames "
                             f"are {width}x{height}: calibrate at this size or resize the input")
        return intr
    if any(v is not None for v in explicit):
        if any(v is None for v in explicit):
            raise ValueError("--fx, --fy, --cx and --cy go together")
        return intrinsics.from_values(a.fx, a.fy, a.cx, a.cy)
    if a.fov_deg is not None:
        return intrinsics.from_fov(width, height, a.fov_deg)
    return None


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wildhands-video", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="video file, image folder, camera (0, /dev/video0) or LeRobot dataset")
    ap.add_argument("--checkpoint", required=True, help="estimator checkpoint (project or released .ckpt)")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--camera-info", default=None, help="camera_calibration YAML of the camera")
    for k in ("fx", "fy", "cx", "cy"):
        ap.add_argument(f"--{k}", type=float, default=None, help=f"intrinsics: {k}, pixels")
    ap.add_argument("--fov-deg", type=float, default=None, help="horizontal field of view, degrees")
    ap.add_argument("--mano-dir", default=None, help="licensed MANO files (default: WILDHANDS_MANO_DIR, the "
                    "checkpoint's own MANO, or the procedural hand)")
    ap.add_argument("--backend", default="onnxruntime", choices=BACKENDS)
    ap.add_argument("--onnx", default=None, help="ONNX file of the checkpoint for onnxruntime, e.g. the int8 "
                    "wildhands_int8.onnx of wildhands-export --int8 (default: exported into the cache)")
    ap.add_argument("--device", default=EstimatorConfig.device)
    ap.add_argument("--detector", default=PipelineConfig.detector_sources[0],
                    choices=["mediapipe", "learned"],
                    help="hand detector (mediapipe: real images; learned: the demo's synthetic renders)")
    ap.add_argument("--detector-checkpoint", default=None, help="checkpoint of --detector learned")
    ap.add_argument("--min-score", type=float, default=PipelineConfig.detector_min_score,
                    help="detections below this are ignored")
    ap.add_argument("--mirrored", action="store_true", help="frames are mirrored (a selfie preview)")
    ap.add_argument("--max-hands", type=int, default=TrackerConfig.max_hands)
    ap.add_argument("--no-tracking", action="store_true", help="detect every frame, no ids, no smoothing")
    ap.add_argument("--overlay", default="mp4", choices=["mp4", "png", "none"])
    ap.add_argument("--fps", type=float, default=30.0, help="frame rate of an image folder or a bare video")
    ap.add_argument("--max-frames", type=int, default=None)
    ap.add_argument("--episode", type=int, default=0, help="episode of a LeRobot dataset INPUT")
    ap.add_argument("--video-key", default=None,
                    help="video feature of a LeRobot dataset INPUT (default: its only one)")
    ap.add_argument("--overwrite", action="store_true", help="write into a non-empty DIR")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def _pipeline(a: argparse.Namespace):
    from wildhands_core.detection.factory import build_available_detector
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
    from wildhands_core.pipeline import HandPipeline, PipelineConfig, detector_config
    from wildhands_core.tracking import TrackerConfig

    est = HandPoseEstimator(EstimatorConfig(checkpoint=a.checkpoint, mano_dir=a.mano_dir, backend=a.backend,
                                            onnx_path=a.onnx, device=a.device, max_hands=a.max_hands))
    cfg = PipelineConfig(
        detector_sources=(a.detector,), learned_detector_checkpoint=a.detector_checkpoint,
        detector_device=a.device, detector_backend="torch" if a.backend == "torch" else "onnxruntime",
        detector_min_score=a.min_score, tracking=not a.no_tracking,
        tracker=TrackerConfig(max_hands=a.max_hands, min_detection_score=a.min_score),
    )
    det_cfg = dataclasses.replace(detector_config(cfg), mediapipe_image_is_mirrored=a.mirrored)
    detector, _, skipped = build_available_detector(det_cfg)
    if detector is None:
        raise ValueError("detector unavailable: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return est, HandPipeline(est, cfg, detector=detector)


def _fail(msg: str) -> int:
    print(f"wildhands-video: {msg}", file=sys.stderr)
    return 2


def _check_arguments(a: argparse.Namespace) -> None:
    """ValueError when the arguments cannot work (before anything is opened)."""
    if a.detector == "learned" and not a.detector_checkpoint:
        raise ValueError("--detector learned needs --detector-checkpoint")
    if not Path(a.checkpoint).is_file():
        raise ValueError(f"--checkpoint {a.checkpoint}: no such file")
    out = Path(a.out)
    if out.exists() and any(out.iterdir()) and not a.overwrite:
        raise ValueError(f"{out} is not empty (use --overwrite)")


def _open_input(a: argparse.Namespace):
    """(source, its frames from the first on, (W, H), intrinsics or None); ValueError when unreadable."""
    src = open_source(a.input, a.fps, a.max_frames, a.episode, a.video_key)
    frames = src.frames()
    first = next(frames, None)
    if first is None:
        raise ValueError(f"{a.input}: no frame could be read")
    h, w = first[1].shape[:2]
    return src, _chain(first, frames), (w, h), choose_intrinsics(a, w, h)


class _Overlay:
    """The overlay output of ``--overlay``: ``overlay.mp4``, ``overlay/NNNNNN.png`` or nothing."""

    def __init__(self, kind: str, out: Path, fps: float, size: tuple[int, int]) -> None:
        self.kind, self.out, self.fps, self.size = kind, out, fps, size
        self.writer = None
        if kind == "png":
            (out / "overlay").mkdir(exist_ok=True)

    def add(self, index: int, image: np.ndarray, hands: list) -> None:
        """Frame ``index`` (RGB) with its hands drawn."""
        if self.kind == "none":
            return
        import cv2

        from wildhands_core.draw import draw_hands

        bgr = np.ascontiguousarray(draw_hands(image, hands)[:, :, ::-1])
        if self.kind == "png":
            cv2.imwrite(str(self.out / "overlay" / f"{index:06d}.png"), bgr)
            return
        if self.writer is None:
            self.writer = cv2.VideoWriter(str(self.out / "overlay.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, self.size)
        self.writer.write(bgr)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def _run(a: argparse.Namespace, pipe, src: Source, frames, size: tuple[int, int], K, undistort,
         out: Path) -> tuple[list[dict], int, bool]:
    """Every frame through ``pipe``: (episode frame dicts, hands found, interrupted by Ctrl-C); overlays
    written as they come. ValueError when a frame's size differs from the first's."""
    from tqdm import tqdm

    from wildhands_core.episodes import hand_row

    w, h = size
    rows: list[dict] = []
    n_hands = 0
    overlay = _Overlay(a.overlay, out, src.fps, size)
    bar = tqdm(total=src.total, unit="frame", desc="wildhands-video", disable=a.no_progress)
    try:
        for stamp_ns, image in frames:
            if image.shape[:2] != (h, w):
                raise ValueError(f"frame {len(rows)} is {image.shape[1]}x{image.shape[0]}, not {w}x{h}")
            if undistort is not None:
                image = undistort(image)
            log_ns = time.time_ns()
            hands = pipe.process(image, K, stamp_ns)
            overlay.add(len(rows), image, hands)
            rows.append({"stamp_ns": int(stamp_ns), "log_time_ns": log_ns, "size": (w, h),
                         "hands": [hand_row(e) for e in hands]})
            n_hands += len(hands)
            bar.update(1)
            bar.set_postfix(hands=len(hands))
    except KeyboardInterrupt:
        return rows, n_hands, True  # a camera runs until Ctrl-C: keep what was read
    finally:
        bar.close()
        overlay.close()
    return rows, n_hands, False


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    from wildhands_core.episodes import write_episode
    from wildhands_core.intrinsics import Undistorter

    try:
        _check_arguments(a)
        src, frames, (w, h), intr = _open_input(a)
    except ValueError as exc:
        return _fail(str(exc))
    out = Path(a.out)
    K = None if intr is None else intr.K_px
    undistort = Undistorter(intr) if intr is not None and intr.distorted else None
    how = intr.source if intr is not None else (
        "none given: the release demo's assumption (focal 1000 px, principal point at the image centre); "
        "depths will be off, pass --camera-info, --fx.. or --fov-deg")
    print(f"wildhands-video: {src.kind} {a.input} ({w}x{h}, {src.fps:g} frames/s)")
    print(f"intrinsics: {how}" + (f"; frames undistorted ({intr.distortion_model})" if undistort else ""))
    try:
        est, pipe = _pipeline(a)
    except ValueError as exc:
        return _fail(str(exc))
    print(f"estimator: {a.checkpoint} on {est.backend_name}, MANO {est.mano_source}; detector {a.detector}")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        rows, n_hands, interrupted = _run(a, pipe, src, frames, (w, h), K, undistort, out)
    except ValueError as exc:
        return _fail(str(exc))
    elapsed = time.perf_counter() - t0
    n_frames = len(rows)
    frame_id = (intr.camera_name if intr is not None and intr.camera_name else "camera") + "_optical"
    name = src.name or "video"
    write_episode(out, name, rows, frame_id)
    summary = {
        "input": str(a.input), "kind": src.kind, "frames": n_frames, "hands": n_hands,
        "image_size_px": [w, h], "intrinsics": how,
        "K_px": None if K is None else np.asarray(K).tolist(), "undistorted": undistort is not None,
        "checkpoint": str(a.checkpoint), "backend": est.backend_name, "mano": est.mano_source,
        "detector": a.detector, "tracking": not a.no_tracking, "seconds": elapsed,
        "frames_per_s": n_frames / elapsed if elapsed > 0 else None, "interrupted": interrupted,
        "episode": name, "frame_id": frame_id,
        "estimates_withheld": dict(sorted(pipe.withheld.items())), "tracks_ended": dict(pipe.tracker.ended),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"{n_frames} frames, {n_hands} hands, {summary['frames_per_s'] or 0:.1f} frames/s -> {out}/"
          f"{name}.npz, {name}_hands.parquet, {name}_frames.parquet"
          + ("" if a.overlay == "none" else f", {'overlay.mp4' if a.overlay == 'mp4' else 'overlay/'}"))
    return 0


def _chain(first, rest):
    yield first
    yield from rest


if __name__ == "__main__":
    sys.exit(main())
