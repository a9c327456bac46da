"""Where a live frame's time goes in the hands node, stage by stage, for the demo model and for ResNet-50.

    scripts/wh python benchmarks/bench_node.py --json bench_node.json            # both models
    scripts/wh python benchmarks/bench_node.py --only demo --frames 60
    scripts/wh python benchmarks/bench_node.py --int8 --json bench_node.json      # + int8 ResNet-50 figures

The node runs in this process (no DDS peers; its publishers publish with nobody listening, which still
serialises every message). Frames are the demo's held-out synthetic sequence (``wildhands-demo``'s seed,
640x480) handed to the node's subscription callbacks exactly as the executor would, one at a time (the
worker is idle before each), so each stage is timed without contention:

- ``demo``: the demo checkpoint on ONNX Runtime with its learned detector and the tracker's schedule (the
  detector runs on some frames only), as ``wildhands-demo`` runs it;
- ``resnet50``: the released architecture (ResNet-50 trunks, random weights whose cameras put each hand
  near its box) on ``--resnet-backend``, with two external boxes per frame (``HandBoxArray``), detector
  looked up every frame.

Stages (exclusive times: a stage's time excludes the stages it calls), mean ms per frame: decode (Image ->
numpy), pairing (callbacks: checks, CameraInfo pairing, mailbox), detector, pre-processing (letterbox,
crops, normalisation, K), network (the inference graph, MANO inside), post (estimates from the graph's
outputs), tracking, smoothing, pipeline (the rest of ``HandPipeline.process``), messages (HandArray),
TF, markers, publish (serialisation + rmw), node (the rest of the worker: stats, headers).
``node overhead`` = decode + pairing + messages + TF + markers + publish + node (what the ROS layer adds).

Undistortion (a ``plumb_bob`` CameraInfo with non-zero D, as the node does it with
``wildhands_core.undistortion.Undistorter``): the one-off map build per calibration and the per-frame
``cv2.remap`` at 640x480 and 1920x1080, next to the demo model's frame total.

Then the demo model live: frames played at ``--rate`` Hz (30) for ``--live-frames``; frames/s processed
(published) and dropped by the newest-frame mailbox. Prints numbers; asserts nothing. ``--json`` writes
every figure (and, with ``--int8``, ``benchmarks/bench_int8.py``'s) to one file.

Robot-hand retargeting (``--robot-hand``, default allegro; ``--only retargeting`` runs it alone): the
node's per-hand cost with ``retargeting.robot`` set, on the demo sequence's true hands (150 frames, both
followed as tracks), wall time per hand solve per side and CPU time per hand. Measured on this machine's 2
cores shared with a training job and other test runs, under ``nice``, Allegro (right / left):

    objective                                  load   mean ms      p50 ms       p95 ms       CPU ms/hand
    dex-retargeting's (torch autograd)         9.6    8.6 / 5.7    6.5 / 3.5    -            -
    vector_objective, first version            9.6    3.7 / 2.3    3.6 / 1.9    6.1 / 4.3    3.0
    vector_objective, first version            1.7    2.07 / 1.24  2.19 / 0.98  3.09 / 2.35  1.68
    vector_objective (previous)                2.4    1.79 / 1.06  1.78 / 0.80  2.89 / 1.94  1.40
    vector_objective (previous)                5.0    2.06 / 1.27  2.00 / 1.19  2.98 / 2.17  1.66
    vector_objective (previous), another run   4.9    1.65 / 0.96  1.71 / 0.79  2.30 / 1.78  1.30
    vector_objective (previous)                2.6    1.20 / 0.65  1.11 / 0.50  1.69 / 1.15  0.84
    same, LEAP                                 2.8    1.07 / 0.60  1.05 / 0.48  1.65 / 1.05  0.84
    vector_objective (current)                 1.9    1.09 / 0.64  1.08 / 0.54  1.63 / 1.17  0.87
    same, LEAP                                 2.1    1.12 / 0.67  1.05 / 0.52  1.91 / 1.11  0.90
    vector_objective (current), another run    2.2    1.00 / 0.63  1.07 / 0.50  1.43 / 1.12  0.82
    same, LEAP                                 2.4    1.04 / 0.61  1.02 / 0.48  1.57 / 1.03  0.83

About 9 objective evaluations per solve; the objective is about half of the CPU time, SLSQP (nlopt) and
the per-frame set-up the rest. At load 5.2 the other hands: LEAP CPU 2.29 ms per hand (mean 2.84 / 1.68),
Shadow 1.96 (2.30 / 1.80), Inspire 1.52 (1.84 / 1.80). Against the 2 ms per hand target: Allegro's CPU
time per hand (1.3-1.7 ms) is within it; its mean wall time is at it for the right hand (1.65-2.1 ms at
load 2.4-5; 2.5 ms in one run at load 5) and under it for the left (the demo's right hand moves more: more
SLSQP iterations); p95 is above it on a loaded machine. On the machine with nothing else running (load
1.8-2.1, one run per hand; mean wall ms right / left, p95 right, CPU ms per hand): Allegro 1.29 / 0.80,
2.13, 1.06; LEAP 2.15 / 1.24, 3.32, 1.72; Shadow 1.59 / 1.12, 2.64, 1.38; Inspire 0.54 / 0.46, 0.78, 0.52:
every hand within 2 ms of CPU per hand, LEAP's right hand just over it in mean wall time.

The last six rows (the training job still running, load 1.9-2.8 at the start of each run, Allegro and LEAP
run alternately): LEAP is now under the 2 ms target in mean wall time (1.04-1.12 ms right, 0.6 left, p95
under 2 ms) and as cheap as Allegro; the 2.15 ms above was not reproduced with the previous objective
either (1.07 ms, the first LEAP row). Profile of a LEAP right-hand solve: 9.4 objective evaluations per
solve on average (34 at most; SLSQP stops on ``ftol_abs`` 1e-6, never on ``max_evaluations``), each about
36 us (previous) / 32 us (current: the links on the root body, LEAP's and Allegro's wrist, are set once
instead of per evaluation, the vectors are one matrix product; same value and gradient), of which the 9
frame placements and 9 frame Jacobians (pinocchio calls from Python) take 14 us; nlopt's SLSQP and its
Python callback add about 22 us per evaluation; the hand frames (``reference``) 50 us and the objective's
set-up 20 us per solve; the low-pass is one vector update (negligible). The objective's 10 % is within the
run-to-run spread of the table. Loosening ``ftol_abs`` to 1e-5 would cut the evaluations to 5.2 (LEAP
right 0.58 ms) but moves each frame's answer: not done.

Measured (``--only demo``, 640x480, 2 cores shared with other jobs, load average 2.6-3.8; each column run
back to back; mean ms per frame; ``benchmarks/results/bench_node.json``, key ``live_schedule``):

    stage              before   after
    decode                0.0     0.0
    pairing               0.5     0.4
    detector             21.3     2.1
    pre-processing       21.1    10.6
    network              58.0    26.0
    post                  1.4     0.5
    tracking              3.4     0.7
    smoothing            14.9     6.1
    pipeline              0.5     0.2
    messages              2.4     0.6
    TF                    2.8     1.3
    markers               1.3     0.5
    publish               2.0     0.8
    node                  2.8     1.3
    total               132.5    51.1
    detector frames     40/40    5/40
    live at 30 Hz       7.9/s   17.6/s

Before: the detector ran on every frame (the demo detector's scores, about 0.34, were below the tracker's
confidence floor 0.5, so no hand was ever followed) and ONNX Runtime's idle threads busy-waited. After:
the schedule judges a followed hand by its estimate's keypoints inside its crop (``min_keypoints_in_crop``),
follow boxes move the detection box by the estimates' motion (``follow_gain``), re-detection every 10
frames or 0.34 s, no spinning. The new schedule with spinning left on: 84.3 ms, 9.9 frames/s live; with
``--demo-threads 1``: 49.4 ms, 18.7 frames/s. Stages that did not change (pre-processing, network,
smoothing) got faster because the spinning threads no longer take their cores. ``wildhands-demo`` over
DDS, same pairing: 12.5 -> 14.9 frames/s. The 25 frames/s target was not reached on this loaded machine.

The same ``--only demo`` run on the machine alone (load average 0.7-0.9; ``benchmarks/results/
bench_node_quiet.json``): total 29.1 ms per frame (network 13.3, pre-processing 5.8, smoothing 4.3,
detector 0.8 with 5 detector frames of 40), node overhead 3.8 ms; live at 30 Hz: 150 of 150 frames
processed (30.0 frames/s), none dropped. ``wildhands-demo --frames 150`` right after, on the same quiet
machine: 15.1 and 16.9 frames/s published (18.5 with ``model.threads: 1``), latency p50 48-64 ms: there
the player and the bag recorder run as well, and the 640x480 images cross DDS between processes, on the
same 2 cores. That is where the demo's missing frames go now, not the node's stages.

Accuracy (``--accuracy``: the same pipeline without ROS and without drops, so the schedule alone is
compared; MPJPE / PA-MPJPE / MRRPE / wrist mm, 2D px, jitter raw / smoothed mm/s^2, detector frames):

    300 frames, every frame     before 49.9 / 16.4 / 128.2 / 83.8, 36.9, 32963 / 14281, 226 of 300
                                after  49.9 / 16.1 / 106.7 / 71.6, 35.3, 31030 / 13085,  69 of 300
    (follow_gain 1.0:                  49.8 / 16.4 / 117.5 / 81.7, 41.3, 36128 / 16841; 0.3: 49.9 / 16.0 /
                                       110.2 / 73.3, 35.3)
    150 frames, every 3rd       before 54.6 / 18.4 / 114.0 / 94.6, 35.7,  4340 /  3101, 39 of 50
                                after  55.3 / 19.0 / 103.9 / 96.7, 36.9,  4287 /  3190, 19 of 50
    (without redetect_every_s:         58.6 / 19.0 / 151.5 / 116.7, 52.3: following over 10 slow frames
                                       drifts)

``wildhands-demo`` (DDS, drops): before 55.2 / 18.2 / 120.0 / 95.0, 37.3 px; after 55.5 / 19.0 / 95.0 /
83.9, 39.0 px (which frames a loaded node answers varies from run to run by more than these differences).

Where the demo's frames went over DDS, and the live-path change that followed (machine alone, load average
about 1; ``benchmarks/results/bench_node_live_path.json``). Per-process CPU during ``wildhands-demo``: the
node 70-90 % of one core, the player + recorder about 12 %: the machine was half idle while the node
dropped half the frames. The node's worker waited for frames a third of the time (py-spy), and its
submissions came in bursts (gaps up to 200 ms, then several at once: the newest-frame mailbox dropped all
but one). Images crossed DDS regularly (33 ms apart, 15 ms after their stamp), but the CameraInfos did
not: 70 of 300 never arrived and the rest were up to 2.2 s late (Fast DDS repairing lost samples of the
reliable CameraInfo topic while the 0.9 MB images share the transport). The pairing held each image for
its own CameraInfo, then released the waiting ones together. Changes:

- pairing: a camera whose newest three CameraInfos are identical (K, distortion, size) pairs an image at
  once with the newest one (``FramePairer(info_key=...)``, ``CameraModel.key``);
- ``preprocess.normalize`` with ``cv2.LUT`` (bit-identical): ``prepare`` 5.7-6.0 -> 5.1 ms per frame;
- smoothing: the 16 MANO rotations in one SO(3) filter pass with per-rotation parameters, and the release
  axis-angle from scipy instead of a torch graph of 16 matrices (outputs equal to 1.3e-15): 2.3 -> 1.0 ms
  per hand.

``--only demo`` back to back, before / after (mean ms per frame; the network figure varies by +-2 ms from
run to run on its own): pre-processing 5.8 / 5.4, network 13.0 / 15.0, smoothing 4.4 / 2.2, total 28.9 /
28.4; live in-process at 30 Hz 150 of 150 both. ``wildhands-demo --frames 150`` (node, player and
recorder in separate processes over DDS), alternating before / after, twice each:

    run          frames/s   dropped by the node   latency p50 / p95 ms   MPJPE / PA / MRRPE mm
    before 1       14.9             71                 48 / 82            54.2 / 18.1 / 113.0
    after 1        29.0              6                 40 / 63            54.6 / 17.7 /  89.4
    before 2       15.1             75                 45 / 73            54.3 / 17.5 / 102.6
    after 2        30.2              0                 37 / 63            54.4 / 17.6 /  90.4

The pairing alone (same harness, 300 frames): 14.4 -> 21.5 frames/s processed; with the two stage cuts
26-27. With ``FASTDDS_BUILTIN_TRANSPORTS=LARGE_DATA`` set for the node and the player, the CameraInfos
arrive on time (delay p95 6 ms, none lost), images 6 ms after their stamp instead of 15, and the demo
published 28.6 and 30.0 frames/s (latency p50 29-37 ms). The full run after the change (both models):
demo 27.9 ms per frame (network 14.7), ResNet-50 396 ms (network 383), node overhead 1.0 % with ResNet-50.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# this checkout's packages, not an installed copy (the script's own folder is sys.path[0])
sys.path.insert(0, str(REPO))
STAGES = (
    "decode", "pairing", "detector", "pre-processing", "network", "post", "tracking", "smoothing",
    "pipeline", "messages", "TF", "markers", "publish", "node",
)
NODE_STAGES = ("decode", "pairing", "messages", "TF", "markers", "publish", "node")


class StageTimer:
    """Exclusive wall time per stage: wrappers nest, a stage's time excludes the wrapped calls inside it."""

    def __init__(self) -> None:
        self.frame: dict[str, float] = defaultdict(float)
        self._local = threading.local()

    def wrap(self, fn, stage: str):
        @functools.wraps(fn)
        def timed(*a, **k):
            stack = self._local.__dict__.setdefault("stack", [])
            stack.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                dt = time.perf_counter() - t0
                inner = stack.pop()
                self.frame[stage] += dt - inner
                if stack:
                    stack[-1] += dt

        return timed

    def patch(self, obj, attr: str, stage: str) -> None:
        setattr(obj, attr, self.wrap(getattr(obj, attr), stage))

    def take(self) -> dict[str, float]:
        out, self.frame = dict(self.frame), defaultdict(float)
        return out


def _instrument(node, timer: StageTimer) -> None:
    import wildhands_ros.conversions as conv
    from wildhands_core.smoothing.hand_smoother import HandSmoother

    for attr, stage in (("image_to_rgb", "decode"), ("compressed_to_rgb", "decode"),
                        ("estimates_to_hand_array", "messages"), ("estimates_to_transforms", "TF"),
                        ("estimates_to_markers", "markers")):
        timer.patch(conv, attr, stage)
    for attr in ("on_info", "on_image", "on_boxes"):
        timer.patch(node.inputs, attr, "pairing")
    node.worker._process = timer.wrap(node.worker._process, "node")  # the worker holds the bound method
    if node.outputs.tf_send is not None:
        node.outputs.tf_send = timer.wrap(node.outputs.tf_send, "TF")
    for pub in (node.outputs.hands_pub, node.outputs.markers_pub, node.outputs.raw_pub):
        if pub is not None:
            timer.patch(pub, "publish", "publish")
    pipe, est = node.pipeline, node.estimator
    timer.patch(pipe, "process", "pipeline")
    if pipe.detector is not None:
        timer.patch(pipe.detector, "detect", "detector")
    for attr in ("needs_detection", "step", "observe"):
        timer.patch(pipe.tracker, attr, "tracking")
    timer.patch(est, "prepare", "pre-processing")
    timer.patch(est.backend, "run", "network")
    timer.patch(est, "postprocess", "post")
    HandSmoother.smooth = timer.wrap(HandSmoother.smooth, "smoothing")


def _resnet50_estimator(backend: str):
    import torch

    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
    from wildhands_core.model.wildhands import WildHands
    from wildhands_core.model.wildhands_net import WildHandsNet

    torch.manual_seed(0)
    net = WildHandsNet()
    with torch.no_grad():
        # Random weights, but constant cameras that put each hand near its box at 0.5 m (boxes at u = 0.25 W
        # and 0.75 W, f = 0.8 W -> 0.8 * 224 in the 224 frame, depth = 2 f / (224 s)), so that the tracker
        # follows the hands from frame to frame as it would real ones.
        for head, sign in (("head_r", -1.0), ("head_l", 1.0)):
            h = getattr(net, head)
            h.cam_init[4].weight.zero_()
            h.cam_init[4].bias.copy_(torch.tensor([1.6 / 0.5, sign * 0.3125 * 0.5, 0.0]))
            h.hmr_layer.decoders["cam_t/wp"].weight.zero_()
            h.hmr_layer.decoders["cam_t/wp"].bias.zero_()
    return HandPoseEstimator(
        EstimatorConfig(allow_random_weights=True, backend=backend, max_hands=2), model=WildHands(net)
    )


def _make_node(name: str, overrides: dict, estimator=None):
    from rclpy.parameter import Parameter

    from wildhands_ros.node import HandsNode

    return HandsNode(name, estimator=estimator,
                     parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


def _render(frames: int, size: tuple[int, int]):
    from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence

    seq = SyntheticSequence(DEMO_SEED, size, threads=1)
    return [f.image for f in seq.frames(frames)], seq.K_px


def _messages(image: np.ndarray, K: np.ndarray, stamp_ns: int, with_boxes: bool):
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import CameraInfo, Image
    from wildhands_ros.msg import HandBoxArray

    h, w = image.shape[:2]
    stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    img = Image(width=w, height=h, encoding="rgb8", step=3 * w)
    img.data = image.tobytes()
    info = CameraInfo(width=w, height=h, k=[float(v) for v in np.asarray(K).reshape(9)])
    msgs = [img, info]
    if with_boxes:
        s = 0.25 * h
        boxes = [0.25 * w - s / 2, 0.5 * h - s / 2, 0.25 * w + s / 2, 0.5 * h + s / 2,
                 0.75 * w - s / 2, 0.5 * h - s / 2, 0.75 * w + s / 2, 0.5 * h + s / 2]
        msgs.append(HandBoxArray(boxes_xyxy_px=boxes, handedness=[HandBoxArray.RIGHT, HandBoxArray.LEFT],
                                 scores=[0.9, 0.9]))
    for m in msgs:
        m.header.stamp = stamp
        m.header.frame_id = "cam_optical"
    return msgs


def _feed(node, msgs) -> None:
    img, info, *boxes = msgs
    if boxes:
        node.inputs.on_boxes(boxes[0])
    node.inputs.on_info(info)
    node.inputs.on_image(img)


def stage_table(node, timer: StageTimer, images, K, with_boxes: bool, warmup: int = 2) -> dict:
    """Frames one at a time through the instrumented node; mean ms per stage and frame."""
    node.pipeline.reset()
    node.inputs.order.clear()
    t0 = time.time_ns()
    rows, detected = [], []
    for i, image in enumerate(images):
        msgs = _messages(image, K, t0 + i * 33_333_333, with_boxes)
        timer.take()
        _feed(node, msgs)
        node.worker.wait_idle(600)
        row = timer.take()
        if i >= warmup:
            rows.append(row)
            detected.append(node.pipeline.last_timing.detector_ran)
    mean = {s: 1e3 * statistics.fmean(r.get(s, 0.0) for r in rows) for s in STAGES}
    totals = [1e3 * sum(r.values()) for r in rows]
    total = sum(mean.values())
    node_ms = sum(mean[s] for s in NODE_STAGES)
    return {
        "frames": len(rows),
        "detector_frames": int(sum(detected)),
        "stages_ms": mean,
        "total_ms": total,
        "total_median_ms": statistics.median(totals),
        "frames_per_s_at_mean": 1e3 / total,
        "network_ms": mean["network"],
        "not_network_ms": total - mean["network"],
        "node_overhead_ms": node_ms,
        "node_overhead_pct": 100.0 * node_ms / total,
    }


def live(node, images, K, rate_hz: float, n: int) -> dict:
    """Frames played at ``rate_hz`` (stamped now, like a camera); what the node processed."""
    node.pipeline.reset()
    node.inputs.order.clear()
    processed0, dropped0 = node.worker.processed, node.worker.dropped
    period = 1.0 / rate_hz
    t_start = t_next = time.perf_counter()
    for i in range(n):
        msgs = _messages(images[i % len(images)], K, node.get_clock().now().nanoseconds, False)
        _feed(node, msgs)
        t_next += period
        time.sleep(max(0.0, t_next - time.perf_counter()))
    node.worker.wait_idle(600)
    dur = time.perf_counter() - t_start
    processed = node.worker.processed - processed0
    return {"rate_hz": rate_hz, "sent": n, "processed": processed,
            "dropped": node.worker.dropped - dropped0, "processed_per_s": processed / dur}


def accuracy(model_dir: Path, size: tuple[int, int], frames: int, stride: int) -> dict:
    """The demo's pipeline (demo checkpoint on ONNX Runtime, its learned detector, the node's tracker and
    smoothing defaults) without ROS, on every ``stride``-th frame of the held-out sequence (a node that
    keeps up with 30 / ``stride`` Hz): the demo report's accuracy figures and the detector's frames."""
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
    from wildhands_core.pipeline import HandPipeline, PipelineConfig
    from wildhands_core.tracking.config import TrackerConfig
    from wildhands_ros.demo.cli import DEMO_MIN_SCORE
    from wildhands_ros.demo.report import compute_metrics
    from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence

    seq = SyntheticSequence(DEMO_SEED, size, threads=1)
    shots = list(seq.frames(frames))
    truth = {k: np.stack([f.labels[k] for f in shots]) for k in shots[0].labels}
    est = HandPoseEstimator(
        EstimatorConfig(checkpoint=str(model_dir / "wildhands_demo.pt"), backend="onnxruntime")
    )
    pipe = HandPipeline(est, PipelineConfig(
        detector_sources=("learned",), learned_detector_checkpoint=str(model_dir / "detector_demo.pt"),
        detector_backend="onnxruntime", detector_min_score=DEMO_MIN_SCORE,
        tracker=TrackerConfig(min_detection_score=DEMO_MIN_SCORE),
    ))
    published, raw, detector_frames = {}, {}, 0
    side = {True: "right", False: "left"}
    for i in range(0, frames, stride):
        hands = pipe.process(shots[i].image, seq.K_px, seq.stamp_ns(i))
        detector_frames += pipe.last_timing.detector_ran
        for store, ests in ((published, hands), (raw, pipe.last_raw)):
            store[i] = {side[h.is_right]: {"joints_m": h.joints_m, "keypoints_px": h.keypoints_px}
                        for h in ests}
    m = compute_metrics(truth, published, raw, played=frames, dropped_by_node=0, play_time_s=frames / 30.0,
                        latencies_ms=[], recorded=len(published))
    keys = ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "kp2d_error_px", "wrist_error_mm", "jitter_raw_mm_s2",
            "jitter_smoothed_mm_s2", "jitter_truth_mm_s2", "smoothing_lag_ms", "frames_estimated")
    return {"frames": frames, "stride": stride, "processed": len(published),
            "detector_frames": detector_frames, **{k: m[k] for k in keys}}


def undistortion_cost(w: int, h: int, frames: int = 20) -> dict:
    """Map build (once per calibration) and remap (every frame) times in ms, medians."""
    from wildhands_core.undistortion import Undistorter

    f = 0.8 * w
    K = np.array([[f, 0.0, (w - 1) / 2], [0.0, f, (h - 1) / 2], [0.0, 0.0, 1.0]])
    D = np.array([-0.28, 0.07, 1e-4, -2e-4, 0.0])  # a typical wide-angle webcam
    image = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    builds, remaps = [], []
    for i in range(3):
        u = Undistorter()
        t = time.perf_counter()
        u.undistort("cam", image, K, "plumb_bob", D * (1 + 1e-3 * i))
        builds.append(time.perf_counter() - t)
    for _ in range(frames):
        t = time.perf_counter()
        u.undistort("cam", image, K, "plumb_bob", D * (1 + 2e-3))
        remaps.append(time.perf_counter() - t)
    assert u.builds == 1
    return {"build_ms": statistics.median(builds) * 1e3, "remap_ms": statistics.median(remaps) * 1e3}


def _print_table(results: dict) -> None:
    names = list(results)
    print(f"\n{'stage (mean ms/frame)':<22}" + "".join(f"{n:>14}" for n in names))
    for s in STAGES:
        print(f"{s:<22}" + "".join(f"{results[n]['stages_ms'][s]:14.2f}" for n in names))
    for key, label in (("total_ms", "total"), ("network_ms", "network"), ("not_network_ms", "not network"),
                       ("node_overhead_ms", "node overhead"), ("node_overhead_pct", "node overhead %"),
                       ("frames_per_s_at_mean", "frames/s (1/total)")):
        print(f"{label:<22}" + "".join(f"{results[n][key]:14.2f}" for n in names))
    print(f"{'detector frames':<22}" + "".join(
        f"{results[n]['detector_frames']:>9d} / {results[n]['frames']:<3d}" for n in names))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["demo", "resnet50", "retargeting"], default=None)
    ap.add_argument("--robot-hand", default="allegro",
                    help="robot hand of the retargeting figures ('none': skip)")
    ap.add_argument("--retarget-frames", type=int, default=150)
    ap.add_argument("--frames", type=int, default=40, help="frames per stage table (after 2 warm-up frames)")
    ap.add_argument("--resnet-frames", type=int, default=8)
    ap.add_argument("--resnet-backend", default="onnxruntime", choices=["torch", "onnxruntime"])
    ap.add_argument("--demo-backend", default="onnxruntime", choices=["torch", "onnxruntime"])
    ap.add_argument("--demo-threads", type=int, default=0, help="model.threads of the demo node (0: default)")
    ap.add_argument("--model-dir", default=str(REPO / "models" / "demo"))
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--rate", type=float, default=30.0)
    ap.add_argument("--live-frames", type=int, default=150)
    ap.add_argument("--int8", action="store_true", help="also run benchmarks/bench_int8.py's measurement")
    ap.add_argument("--int8-json", default=None, help="or include the figures of a bench_int8.py --json run")
    ap.add_argument("--json", default=None, help="write every figure here")
    ap.add_argument("--accuracy", type=int, default=0, metavar="N",
                    help="also the demo pipeline's accuracy on N frames without ROS (every frame and every "
                    "--stride-th)")
    ap.add_argument("--stride", type=int, default=3)
    args = ap.parse_args()

    if args.only == "retargeting":
        out = {"cpu_threads": _threads(), "load_average_1m_start": _load()}
        out["retargeting"] = _print_retargeting(retargeting_cost(args.robot_hand, args.retarget_frames))
        out["load_average_1m_end"] = _load()
        print(f"machine load average (1 min): {out['load_average_1m_start']:.1f} at the start, "
              f"{out['load_average_1m_end']:.1f} at the end, on {out['cpu_threads']} cores")
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1))
        return
    import rclpy

    rclpy.init()
    size = tuple(int(v) for v in args.size.split("x"))
    n_render = max(args.frames, args.resnet_frames) + 2
    t = time.perf_counter()
    images, K = _render(n_render, size)
    print(f"rendered {n_render} frames {size[0]}x{size[1]} in {time.perf_counter() - t:.1f} s")
    common = {"tf.fingertips": True, "output.markers": True}
    results: dict = {}
    out: dict = {"size": list(size), "cpu_threads": _threads(), "load_average_1m_start": _load()}
    if args.only in (None, "demo"):
        md = Path(args.model_dir)
        node = _make_node("hands_bench_demo", {
            **common, "model.checkpoint": str(md / "wildhands_demo.pt"), "model.backend": args.demo_backend,
            "detector.sources": ["learned"], "detector.learned_checkpoint": str(md / "detector_demo.pt"),
            "detector.min_score": 0.25, "model.threads": args.demo_threads,
        })
        timer = StageTimer()
        _instrument(node, timer)
        results["demo"] = stage_table(node, timer, images[: args.frames + 2], K, with_boxes=False)
        results["demo"]["backend"] = node.backend_name
        out["demo_live"] = live(node, images, K, args.rate, args.live_frames)
        node.destroy_node()
    if args.only in (None, "resnet50"):
        node = _make_node("hands_bench_r50", {
            **common, "detector.sources": ["external"], "detector.external_wait_s": 0.0,
            "tracking.min_hits": 1, "tracking.redetect_every_n": 1,
        }, estimator=_resnet50_estimator(args.resnet_backend))
        timer = StageTimer()
        _instrument(node, timer)
        results["resnet50"] = stage_table(node, timer, images[: args.resnet_frames + 2], K, with_boxes=True)
        results["resnet50"]["backend"] = node.backend_name
        node.destroy_node()
    _print_table(results)
    frame_ms = results["demo"]["total_ms"] if "demo" in results and "total_ms" in results["demo"] else None
    print(f"\nundistortion (plumb_bob, cached maps): {'resolution':>11} {'build ms':>9} {'remap ms':>9}"
          + (f" {'% of demo frame':>16}" if frame_ms else ""))
    out["undistortion"] = {}
    for w, h in ((640, 480), (1920, 1080)):
        u = undistortion_cost(w, h)
        out["undistortion"][f"{w}x{h}"] = u
        share = f" {100 * u['remap_ms'] / (frame_ms + u['remap_ms']):15.1f}%" if frame_ms else ""
        print(f"{'':39}{w:>5}x{h:<5} {u['build_ms']:9.1f} {u['remap_ms']:9.2f}{share}")
    if "demo_live" in out:
        lv = out["demo_live"]
        print(f"\ndemo model live at {lv['rate_hz']:.0f} Hz: sent {lv['sent']}, processed {lv['processed']} "
              f"({lv['processed_per_s']:.1f} frames/s), dropped {lv['dropped']}")
    if args.accuracy:
        out["accuracy"] = {}
        for stride in dict.fromkeys((1, args.stride)):
            a = accuracy(Path(args.model_dir), size, args.accuracy, stride)
            out["accuracy"][f"every_{stride}"] = a
            print(f"\ndemo pipeline, every {stride}. of {a['frames']} frames: MPJPE {a['mpjpe_mm']:.1f} / PA "
                  f"{a['pa_mpjpe_mm']:.1f} / MRRPE {a['mrrpe_mm']:.1f} mm, 2D {a['kp2d_error_px']:.1f} px, "
                  f"jitter raw/smoothed {a['jitter_raw_mm_s2']:.0f}/{a['jitter_smoothed_mm_s2']:.0f} mm/s^2, "
                  f"detector on {a['detector_frames']} of {a['processed']}")
    if args.robot_hand != "none":
        out["retargeting"] = _print_retargeting(retargeting_cost(args.robot_hand, args.retarget_frames))
    out.update(results)
    out["load_average_1m_end"] = _load()
    print(f"machine load average (1 min): {out['load_average_1m_start']:.1f} at the start, "
          f"{out['load_average_1m_end']:.1f} at the end, on {out['cpu_threads']} cores")
    if args.int8 or args.int8_json:
        import bench_int8

        out["int8"] = json.loads(Path(args.int8_json).read_text()) if args.int8_json else bench_int8.measure()
        bench_int8.print_figures(out["int8"])
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
        print(f"wrote {args.json}")
    rclpy.try_shutdown()


def retargeting_cost(robot: str, frames: int) -> dict:
    """Robot-hand retargeting (``wildhands_core.retargeting``, what the node runs per published hand with
    ``retargeting.robot``) on the demo sequence's true hands, both followed as tracks: ms per hand solve
    (mean, p50, p95, max) per side, and the failed frames."""
    from wildhands_core.estimate import HandEstimate
    from wildhands_core.retargeting.config import configs_for
    from wildhands_core.retargeting.retargeter import RobotHandRetargeting
    from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence

    seq = SyntheticSequence(DEMO_SEED)
    z = np.zeros
    hands = []
    for i in range(frames):
        frame = []
        for spec in seq.hand_specs(i):
            posed = seq.models[spec.is_right].pose(spec.articulation[None], spec.global_rotmat[None],
                                                   spec.betas[None], spec.palm_centre_cam_m[None])
            frame.append(HandEstimate(spec.is_right, z(3), z(45), z(10), z(3), posed.joints_cam_m[0],
                                      z((21, 2)), z(4), z(4), 1.0, z(9), track_id=1 + int(spec.is_right)))
        hands.append(frame)
    t = time.perf_counter()
    retargeting = RobotHandRetargeting(configs_for(robot=robot))
    build_ms = 1e3 * (time.perf_counter() - t)
    times: dict[str, list[float]] = {"right": [], "left": []}
    cpu0 = time.process_time()
    for frame in hands:
        for state in retargeting.update(frame):
            times["right" if state.is_right else "left"].append(1e3 * state.solve_s)
    cpu_ms = 1e3 * (time.process_time() - cpu0) / max(1, sum(map(len, times.values())))
    out = {"robot": robot, "frames": frames, "build_ms": build_ms, "failed": dict(retargeting.failures),
           "cpu_ms_per_hand": cpu_ms}
    for side, ms in times.items():
        a = np.asarray(ms)
        out[side] = {"solves": len(ms), "mean_ms": float(a.mean()), "p50_ms": float(np.percentile(a, 50)),
                     "p95_ms": float(np.percentile(a, 95)), "max_ms": float(a.max())}
    return out


def _print_retargeting(r: dict) -> dict:
    print(f"\nretargeting to {r['robot']} ({r['frames']} frames of the demo sequence's true hands; solvers "
          f"built in {r['build_ms']:.0f} ms; failed frames {r['failed'] or 0}):")
    for side in ("right", "left"):
        s = r[side]
        print(f"  {side:<6} per hand, wall: mean {s['mean_ms']:.2f} ms, p50 {s['p50_ms']:.2f}, "
              f"p95 {s['p95_ms']:.2f}, max {s['max_ms']:.2f} ({s['solves']} solves)")
    print(f"  CPU time per hand (this process, both sides): {r['cpu_ms_per_hand']:.2f} ms")
    return r


def _load() -> float:
    import os

    return os.getloadavg()[0]


def _threads() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
