"""The hands node: Image (+ CameraInfo, + external boxes) in; HandArray, TF, markers, diagnostics out.

Threads: subscription callbacks (one executor thread) only check metadata, pair images with CameraInfo
(``pairing.FramePairer``) and put the frame in the one-slot mailbox of ``worker.LatestFrameWorker``; they
never wait for inference. The worker thread decodes the image (a zero-copy view for rgb8), runs
``wildhands_core.pipeline.HandPipeline.process`` and publishes. When images arrive faster than inference,
the newest frame wins and each replaced frame is counted (diagnostics ``frames_dropped``).

Outputs (header = the input image's header: its stamp and camera optical frame, never "now"):
``~/hands`` (wildhands_ros/HandArray), ``/tf`` (optical frame -> ``<prefix>{left,right}_wrist``, optionally
-> fingertips), ``~/markers`` (visualization_msgs/MarkerArray), ``/diagnostics``, ``~/debug_image``.
Every rejected input is counted by reason, reported on /diagnostics and logged at most once per
``LOG_PERIOD_S`` per reason.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from wildhands_core.estimate import HandEstimate
from wildhands_core.pipeline import Estimator, HandPipeline
from wildhands_ros import conversions as conv
from wildhands_ros import params
from wildhands_ros.diagnostics import NodeStats, stats_to_diagnostics
from wildhands_ros.gripper_targets import GripperTargetOutput
from wildhands_ros.msg import HandArray, HandBoxArray
from wildhands_ros.pairing import Dropped, FramePairer, Paired
from wildhands_ros.worker import LatestFrameWorker

LOG_PERIOD_S = 5.0
#: QoS tf2_ros's TransformBroadcaster uses on /tf.
TF_QOS = QoSProfile(
    depth=100,
    reliability=QoSReliabilityPolicy.RELIABLE,
    durability=QoSDurabilityPolicy.VOLATILE,
    history=QoSHistoryPolicy.KEEP_LAST,
)


@dataclass
class Frame:
    """One paired frame waiting for (or in) inference."""

    msg: Any  # sensor_msgs/Image or CompressedImage
    K_px: np.ndarray | None  # None for compressed images until decoded (size unknown)
    info: CameraInfo
    header: Header
    stamp_ns: int
    received_ns: int  # steady clock, ns
    reset_tracking: bool = False


def build_estimator(settings: params.NodeSettings) -> Estimator:
    """The project's HandPoseEstimator from the ``model.*`` parameters."""
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator

    ckpt = settings["model.checkpoint"] or None
    cfg = EstimatorConfig(
        checkpoint=ckpt,
        mano_dir=settings["model.mano_dir"] or None,
        backend=settings["model.backend"],
        device=settings["model.device"],
        crop_scale=float(settings["model.crop_scale"]),
        max_hands=int(settings["model.max_hands"]),
        return_vertices=bool(settings["model.publish_mesh"]),
        allow_random_weights=ckpt is None,
    )
    return HandPoseEstimator(cfg)


class HandsNode(Node):
    """See the module docstring. ``estimator`` may be given (benchmarks); else built from parameters.

    Raises ``params.ParameterError`` (naming the parameter) when the configuration is invalid.
    """

    def __init__(self, node_name: str = "hands", estimator: Estimator | None = None, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        self.settings = params.load(self)
        s = self.settings
        self.stats = NodeStats(int(s["diagnostics.window"]))
        self._log_times: dict[str, float] = {}
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        if estimator is None:
            if not s["model.checkpoint"]:
                if not s["model.allow_random_weights"]:
                    raise params.ParameterError(
                        "model.checkpoint", "is empty: set a checkpoint file (or model.allow_random_weights)"
                    )
                self.get_logger().warning(
                    "model.checkpoint is empty: RANDOM network weights, outputs are "
                    "meaningless (testing only)"
                )
            estimator = build_estimator(s)
        self.estimator = estimator
        self.backend_name = str(getattr(estimator, "backend_name", "unknown"))
        self.pipeline = HandPipeline(estimator, s.pipeline_config())
        for source, why in self.pipeline.skipped_sources.items():
            self.get_logger().warning(f"detector source '{source}' skipped: {why}")
        if not self.pipeline.active_sources:
            self.get_logger().error("no detector source is available: no hand will ever be found")
        self._faces = self._mesh_faces() if s["model.publish_mesh"] else None
        self.pairer = FramePairer(int(s["input.pairing_buffer"]), bool(s["input.reuse_camera_info"]))
        self._last_stamp: dict[str, int] = {}
        self.reused_info = 0
        self._pub_lock = threading.Lock()

        # ---- outputs
        self.hands_pub = self.create_publisher(HandArray, "~/hands", 10)
        self.markers_pub = self.create_publisher(MarkerArray, "~/markers", 5) if s["output.markers"] else None
        self.raw_pub = None
        if s["output.publish_raw"]:
            self.raw_pub = self.create_publisher(HandArray, "~/hands_raw", 10)
        self.debug_pub = self.create_publisher(Image, "~/debug_image", 2) if s["output.debug_image"] else None
        from diagnostic_msgs.msg import DiagnosticArray

        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._tf_send = self._make_tf_sender() if s["tf.publish"] else None
        self.gripper_out = GripperTargetOutput.create(self, s)

        t_warm = time.perf_counter()
        self.pipeline.warmup()
        self.get_logger().info(f"warm-up: {1e3 * (time.perf_counter() - t_warm):.0f} ms")

        # ---- inputs
        reliability = (
            QoSReliabilityPolicy.RELIABLE
            if s["qos.image_reliability"] == "reliable"
            else QoSReliabilityPolicy.BEST_EFFORT
        )
        image_qos = QoSProfile(
            depth=int(s["qos.image_depth"]), reliability=reliability, durability=QoSDurabilityPolicy.VOLATILE
        )
        side_qos = QoSProfile(
            depth=max(int(s["input.pairing_buffer"]), 5),
            reliability=reliability,
            durability=QoSDurabilityPolicy.VOLATILE,
        )
        if s["input.use_compressed"]:
            self.create_subscription(
                CompressedImage, s["topics.compressed_image"], self._on_compressed, image_qos
            )
        else:
            self.create_subscription(Image, s["topics.image"], self._on_image, image_qos)
        self.create_subscription(CameraInfo, s["topics.camera_info"], self._on_info, side_qos)
        if self.pipeline.external is not None:
            self.create_subscription(HandBoxArray, s["topics.boxes"], self._on_boxes, side_qos)
            if s["topics.detections"]:
                self._subscribe_vision_msgs(s["topics.detections"], side_qos)

        self.worker = LatestFrameWorker(
            self._process, on_error=self._on_worker_error, on_drop=lambda _f: self.stats.on_dropped()
        )
        self._diag_timer = self.create_timer(
            float(s["diagnostics.period_s"]), self._publish_diagnostics, clock=self._steady
        )
        self.add_on_set_parameters_callback(
            lambda ps: params.on_set_parameters(self.settings, ps, self.pipeline.update_smoothing)
        )
        self.get_logger().info(
            f"ready: backend {self.backend_name}, detector sources {self.pipeline.active_sources}, "
            f"image topic {self.resolve_topic_name(s['topics.image'])}, "
            f"MANO {getattr(estimator, 'mano_source', 'unknown')}"
        )

    # ------------------------------------------------------------------------------------ set-up
    def _make_tf_sender(self):
        try:
            from tf2_ros import TransformBroadcaster

            broadcaster = TransformBroadcaster(self)
            return broadcaster.sendTransform
        except ImportError:
            pass
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError:
            self.get_logger().warning("neither tf2_ros nor tf2_msgs is importable: TF is not published")
            return None
        pub = self.create_publisher(TFMessage, "/tf", TF_QOS)
        return lambda transforms: pub.publish(TFMessage(transforms=list(transforms)))

    def _subscribe_vision_msgs(self, topic: str, qos: QoSProfile) -> None:
        try:
            from vision_msgs.msg import Detection2DArray
        except ImportError:
            self.get_logger().warning(f"topics.detections={topic!r} ignored: vision_msgs is not importable")
            return

        def on_detections(msg) -> None:
            self.pipeline.set_external_boxes(
                conv.stamp_to_ns(msg.header.stamp), conv.detection2d_array_to_detections(msg)
            )

        self.create_subscription(Detection2DArray, topic, on_detections, qos)

    def _mesh_faces(self) -> np.ndarray | None:
        mano = getattr(getattr(self.estimator, "model", None), "mano_r", None)
        faces = getattr(mano, "faces", None)
        return None if faces is None else np.asarray(faces.cpu() if hasattr(faces, "cpu") else faces)

    # --------------------------------------------------------------------------------- reporting
    def _reject(self, reason: str, message: str) -> None:
        self.stats.on_rejected(reason, message)
        now = time.monotonic()
        if now - self._log_times.get(reason, -1e9) >= LOG_PERIOD_S:
            self._log_times[reason] = now
            self.get_logger().error(f"input rejected ({reason}): {message}")

    def _on_worker_error(self, frame: Frame, exc: BaseException) -> None:
        if isinstance(exc, conv.InputError):
            self._reject(exc.reason, str(exc))
        else:
            self.stats.on_failed()
            self._reject("processing_error", f"{type(exc).__name__}: {exc}")

    # ---------------------------------------------------------------------------------- callbacks
    def _on_info(self, msg: CameraInfo) -> None:
        try:
            conv.camera_info_to_K(msg, None, bool(self.settings["input.use_rectified"]))
        except conv.InputError as exc:
            self._reject(exc.reason, f"{exc} (frame {msg.header.frame_id!r})")
            return
        for p in self.pairer.add_info(msg.header.frame_id, conv.stamp_to_ns(msg.header.stamp), msg):
            self._submit(p)

    def _on_image(self, msg: Image) -> None:
        self.stats.on_received()
        try:
            conv.check_image(msg)
        except conv.InputError as exc:
            self._reject(exc.reason, f"{exc} (frame {msg.header.frame_id!r})")
            return
        self._pair(msg)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self.stats.on_received()
        if len(msg.data) == 0:
            self._reject("empty_image", f"empty compressed image (frame {msg.header.frame_id!r})")
            return
        self._pair(msg)

    def _on_boxes(self, msg: HandBoxArray) -> None:
        try:
            dets = conv.hand_boxes_to_detections(msg)
        except conv.InputError as exc:
            self._reject(exc.reason, str(exc))
            return
        self.pipeline.set_external_boxes(conv.stamp_to_ns(msg.header.stamp), dets)

    def _pair(self, msg) -> None:
        for r in self.pairer.add_image(msg.header.frame_id, conv.stamp_to_ns(msg.header.stamp), msg):
            if isinstance(r, Dropped):
                self._reject(
                    r.reason,
                    f"no CameraInfo for the image of frame {r.frame_id!r} stamped {r.stamp_ns / 1e9:.6f} s",
                )
            else:
                self._submit(r)

    def _submit(self, p: Paired) -> None:
        msg, info = p.image, p.info
        K = None
        if isinstance(msg, Image):
            try:
                K = conv.camera_info_to_K(
                    info, (msg.width, msg.height), bool(self.settings["input.use_rectified"])
                )
            except conv.InputError as exc:
                self._reject(exc.reason, f"{exc} (frame {p.frame_id!r})")
                return
        last = self._last_stamp.get(p.frame_id)
        reset = False
        if last is not None and p.stamp_ns <= last:
            back_s = (last - p.stamp_ns) / 1e9
            if p.stamp_ns == last:
                self._reject(
                    "duplicate_stamp", f"image stamp {p.stamp_ns / 1e9:.6f} s repeated (frame {p.frame_id!r})"
                )
                return
            if back_s < float(self.settings["input.reset_on_jump_back_s"]):
                self._reject(
                    "stamp_backwards",
                    f"image stamp went back by {back_s * 1e3:.1f} ms (frame {p.frame_id!r})",
                )
                return
            reset = True
            self.get_logger().warning(f"time jumped back by {back_s:.2f} s: tracking reset")
        self._last_stamp[p.frame_id] = p.stamp_ns
        self.reused_info += int(p.reused)
        self.worker.submit(Frame(msg, K, info, msg.header, p.stamp_ns, self._steady.now().nanoseconds, reset))

    # ------------------------------------------------------------------------------------- worker
    def _process(self, f: Frame) -> None:
        t0 = time.perf_counter()
        if isinstance(f.msg, CompressedImage):
            image = conv.compressed_to_rgb(f.msg)
            K = conv.camera_info_to_K(
                f.info, (image.shape[1], image.shape[0]), bool(self.settings["input.use_rectified"])
            )
        else:
            image, K = conv.image_to_rgb(f.msg), f.K_px
        if f.reset_tracking:
            self.pipeline.reset()
        estimates = self.pipeline.process(image, K, f.stamp_ns)
        model_s = self.pipeline.last_timing.estimate_s + self.pipeline.last_timing.detect_s
        published = self._publish(f, image, estimates)
        latency_ms = (self.get_clock().now().nanoseconds - f.stamp_ns) / 1e6
        self.stats.on_processed(latency_ms, (time.perf_counter() - t0) * 1e3, model_s * 1e3, published)

    def _publish(self, f: Frame, image: np.ndarray, estimates: list[HandEstimate]) -> bool:
        s = self.settings
        if not estimates and not s["output.publish_empty"]:
            return False
        header = Header(stamp=f.header.stamp, frame_id=f.header.frame_id)
        latency_ms = (self.get_clock().now().nanoseconds - f.stamp_ns) / 1e6
        msg = conv.estimates_to_hand_array(
            estimates,
            header,
            (image.shape[1], image.shape[0]),
            latency_ms,
            with_vertices=bool(s["model.publish_mesh"]),
        )
        self.hands_pub.publish(msg)
        if self.raw_pub is not None:
            size = (image.shape[1], image.shape[0])
            raw = conv.estimates_to_hand_array(self.pipeline.last_raw, header, size, latency_ms)
            self.raw_pub.publish(raw)
        if self._tf_send is not None and estimates:
            self._tf_send(
                conv.estimates_to_transforms(
                    estimates, header, s["tf.frame_prefix"], bool(s["tf.fingertips"])
                )
            )
        if self.gripper_out is not None:
            self.gripper_out.publish(estimates, header)
        if self.markers_pub is not None:
            self.markers_pub.publish(conv.estimates_to_markers(estimates, header, self._faces))
        if self.debug_pub is not None:
            self.debug_pub.publish(conv.rgb_to_image_msg(conv.draw_hands(image, estimates), header))
        return True

    # -------------------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        snap = self.stats.snapshot()
        header = Header(stamp=self.get_clock().now().to_msg())
        extra = {
            "detector_sources": ",".join(self.pipeline.active_sources),
            "camera_info_reused": str(self.reused_info),
            "waiting_for_camera_info": str(self.pairer.waiting),
            "mano_model": str(getattr(self.estimator, "mano_source", "unknown")),
        }
        for source, why in self.pipeline.skipped_sources.items():
            extra[f"detector_skipped.{source}"] = why
        self.diag_pub.publish(
            stats_to_diagnostics(
                snap,
                header,
                f"{self.get_name()}: hand pose",
                f"wildhands/{self.backend_name}",
                self.backend_name,
                extra,
            )
        )

    def destroy_node(self) -> None:
        worker = getattr(self, "worker", None)  # absent when __init__ failed (invalid parameters)
        if worker is not None:
            worker.stop()
        super().destroy_node()


def spin(node: HandsNode) -> None:
    """Spin ``node`` until shutdown (Ctrl-C / SIGTERM)."""
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    try:
        executor = SingleThreadedExecutor(context=node.context)
    except Exception:
        if not node.context.ok():
            return  # shut down by a signal during start-up
        raise
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()


__all__ = ["Frame", "HandsNode", "build_estimator", "spin"]
