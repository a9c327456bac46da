"""The hands node's own overhead per frame, and its latency when images arrive 3x faster than inference.

    scripts/wh python benchmarks/bench_node.py          # released architecture (ResNet-50), random weights
    scripts/wh python benchmarks/bench_node.py --small         # narrow ResNet-18 (quick look)
    scripts/wh python benchmarks/bench_node.py --checkpoint model.pt --backend onnxruntime

The node runs in this process (no DDS peers; its publishers publish with nobody listening, which still
serialises every message). Each frame = HandBoxArray (two hands) + CameraInfo + rgb8 Image handed to the
node's subscription callbacks exactly as the executor would. Reported per resolution (median over frames):

- model: the estimator (its pre-processing + network + MANO), i.e. ``HandPoseEstimator.estimate``;
- pipeline: detection lookup, tracking and smoothing around it;
- node: callbacks (checks, pairing), image view/conversion, HandArray + TF + markers building and
  publishing, diagnostics bookkeeping = everything the ROS layer adds. Target: node <= 10% of the total.

Undistortion (a ``plumb_bob`` CameraInfo with non-zero D, as the node does it with
``wildhands_core.undistortion.Undistorter``): the one-off map build per calibration and the per-frame
``cv2.remap``, per resolution, next to the frame's total.

Then a burst at 3x the measured processing rate: latency from stamp to publication per processed frame,
first third vs last third of the burst (a growing queue would make the last third much slower), and the
number of frames the mailbox dropped. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _make_node(args):
    import rclpy
    from rclpy.parameter import Parameter

    from wildhands_ros.node import HandsNode

    overrides = {
        "tracking.min_hits": 1,
        "tracking.redetect_every_n": 1,
        "model.backend": args.backend,
        "model.device": args.device,
        "tf.fingertips": True,
    }
    estimator = None
    if args.checkpoint:
        overrides["model.checkpoint"] = args.checkpoint
    else:
        import torch

        from wildhands_core.config import ModelConfig
        from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
        from wildhands_core.model.wildhands import WildHands
        from wildhands_core.model.wildhands_net import WildHandsNet

        torch.manual_seed(0)
        cfg = (
            ModelConfig(
                backbone="resnet18", conv_dims=(64, 32, 16), fc_dim=128, head_hidden=128, cam_init_hidden=64
            )
            if args.small
            else ModelConfig()
        )
        net = WildHandsNet(cfg)
        with torch.no_grad():
            # Random weights, but constant cameras that put each hand near its box at 0.5 m (boxes at
            # u = 0.25 W and 0.75 W, f = 0.8 W; f = 0.8 * 224 in the 224 frame, depth = 2 f / (224 s)),
            # so that
            # the tracker follows the hands from frame to frame as it would real ones.
            for head, sign in (("head_r", -1.0), ("head_l", 1.0)):
                h = getattr(net, head)
                h.cam_init[4].weight.zero_()
                h.cam_init[4].bias.copy_(torch.tensor([1.6 / 0.5, sign * 0.3125 * 0.5, 0.0]))
                h.hmr_layer.decoders["cam_t/wp"].weight.zero_()
                h.hmr_layer.decoders["cam_t/wp"].bias.zero_()
        estimator = HandPoseEstimator(
            EstimatorConfig(allow_random_weights=True, backend=args.backend, device=args.device),
            model=WildHands(net),
        )
    rclpy.init()
    return HandsNode(
        "hands_bench",
        estimator=estimator,
        parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()],
    )


def _messages(w: int, h: int, stamp_ns: int, rng: np.random.Generator):
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import CameraInfo, Image
    from wildhands_ros.msg import HandBoxArray

    stamp = Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)
    f = 0.8 * w
    img = Image(width=w, height=h, encoding="rgb8", step=3 * w)
    img.data = rng.integers(0, 255, h * w * 3, dtype=np.uint8).tobytes()
    info = CameraInfo(width=w, height=h, k=[f, 0.0, (w - 1) / 2, 0.0, f, (h - 1) / 2, 0.0, 0.0, 1.0])
    s = 0.25 * h
    boxes = HandBoxArray(
        boxes_xyxy_px=[
            0.25 * w - s / 2,
            0.5 * h - s / 2,
            0.25 * w + s / 2,
            0.5 * h + s / 2,
            0.75 * w - s / 2,
            0.5 * h - s / 2,
            0.75 * w + s / 2,
            0.5 * h + s / 2,
        ],
        handedness=[HandBoxArray.RIGHT, HandBoxArray.LEFT],
        scores=[0.9, 0.9],
    )
    for m in (img, info, boxes):
        m.header.stamp = stamp
        m.header.frame_id = "cam_optical"
    return img, info, boxes


def _frame(node, msgs) -> float:
    """Feed one frame through the callbacks; returns the callbacks' own time (s)."""
    img, info, boxes = msgs
    t = time.perf_counter()
    node._on_boxes(boxes)
    node._on_info(info)
    node._on_image(img)
    return time.perf_counter() - t


def overhead(node, w: int, h: int, frames: int) -> dict:
    rng = np.random.default_rng(0)
    # Pre-build the messages: creating test images is the camera driver's cost, not the node's.
    msgs = [_messages(w, h, time.time_ns() + i * 33_000_000, rng) for i in range(frames + 1)]
    rows = []
    node.pipeline.reset()
    node._order.clear()
    for i, m in enumerate(msgs):
        cb = _frame(node, m)
        node.worker.wait_idle(600)
        proc_s = node.stats.processing_ms()[-1] / 1e3
        if i == 0:
            continue  # warm-up
        tm = node.pipeline.last_timing
        model = tm.estimate_s
        pipeline = tm.total_s - tm.estimate_s
        node_s = cb + proc_s - tm.total_s
        rows.append((model, pipeline, node_s, cb + proc_s))
    med = [statistics.median(c) for c in zip(*rows, strict=True)]
    return {
        "model_ms": med[0] * 1e3,
        "pipeline_ms": med[1] * 1e3,
        "node_ms": med[2] * 1e3,
        "total_ms": med[3] * 1e3,
    }


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


def burst(node, w: int, h: int, n: int, proc_s: float) -> dict:
    rng = np.random.default_rng(1)
    period = proc_s / 3
    node.pipeline.reset()
    node._order.clear()
    dropped0, processed0 = node.worker.dropped, node.worker.processed
    lat_before = len(node.stats.latencies_ms())
    base = [_messages(w, h, 0, rng) for _ in range(3)]
    t_next = time.perf_counter()
    for i in range(n):
        img, info, boxes = base[i % 3]
        stamp = node.get_clock().now().to_msg()
        for m in (img, info, boxes):
            m.header.stamp = stamp
        _frame(node, (img, info, boxes))
        t_next += period
        time.sleep(max(0.0, t_next - time.perf_counter()))
    node.worker.wait_idle(600)
    lat = node.stats.latencies_ms()[lat_before:]  # the window (100 frames) holds the whole run
    third = max(len(lat) // 3, 1)
    return {
        "sent": n,
        "processed": node.worker.processed - processed0,
        "dropped": node.worker.dropped - dropped0,
        "period_ms": period * 1e3,
        "lat_first_ms": statistics.median(lat[:third]) if lat else float("nan"),
        "lat_last_ms": statistics.median(lat[-third:]) if lat else float("nan"),
        "lat_max_ms": max(lat) if lat else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default="")
    ap.add_argument(
        "--small", action="store_true", help="narrow ResNet-18 network instead of the released one"
    )
    ap.add_argument("--backend", default="torch", choices=["torch", "onnxruntime", "tensorrt"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--burst", type=int, default=24)
    args = ap.parse_args()
    node = _make_node(args)
    print(f"backend {node.backend_name}; two hands per frame; medians over {args.frames} frames")
    print(
        f"{'resolution':>11} {'model ms':>9} {'pipeline ms':>12} {'node ms':>8} {'total ms':>9} {'node %':>7}"
    )
    results = {}
    for w, h in ((640, 480), (1920, 1080)):
        r = overhead(node, w, h, args.frames)
        results[(w, h)] = r
        print(
            f"{w:>5}x{h:<5} {r['model_ms']:9.1f} {r['pipeline_ms']:12.1f} {r['node_ms']:8.1f} "
            f"{r['total_ms']:9.1f} {100 * r['node_ms'] / r['total_ms']:6.1f}%"
        )
    head = f"{'resolution':>11} {'build ms':>9} {'remap ms':>9} {'% of total':>10}"
    print(f"undistortion (plumb_bob, cached maps): {head}")
    for (w, h), r in results.items():
        u = undistortion_cost(w, h)
        print(
            f"{'':39}{w:>5}x{h:<5} {u['build_ms']:9.1f} {u['remap_ms']:9.2f} "
            f"{100 * u['remap_ms'] / (r['total_ms'] + u['remap_ms']):9.1f}%"
        )
    r = results[(640, 480)]
    b = burst(node, 640, 480, args.burst, r["total_ms"] / 1e3)
    print(
        f"burst 640x480 at 3x the processing rate (every {b['period_ms']:.0f} ms): sent {b['sent']}, "
        f"processed {b['processed']}, dropped {b['dropped']}; latency stamp->publication median first third "
        f"{b['lat_first_ms']:.0f} ms, last third {b['lat_last_ms']:.0f} ms, max {b['lat_max_ms']:.0f} ms "
        f"(processing {r['total_ms']:.0f} ms)"
    )
    node.destroy_node()
    import rclpy

    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
