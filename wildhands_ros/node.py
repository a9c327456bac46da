"""The hands node: Image (+ CameraInfo, + external boxes) in; HandArray, TF, markers, diagnostics out.

A managed (lifecycle) node, as yolo_ros and Nav2's: *unconfigured* after construction (parameters declared
and validated); **configure** loads the model, warms it up and creates the publishers and /diagnostics;
**activate** subscribes and starts the inference worker; **deactivate** unsubscribes and stops the worker;
**cleanup** frees the model and the publishers. ``lifecycle.autostart`` (default true) configures and
activates at start-up, so a plain ``ros2 launch`` / ``ros2 run`` just works. After **shutdown** the node is
finalized and :func:`spin` returns: its process exits, as launch expects of a managed node.

Threads: subscription callbacks (one executor thread, ``input_handling.InputHandler``) only check
metadata, pair images with CameraInfo (``pairing.FramePairer``) and put the frame in the one-slot mailbox of
``worker.LatestFrameWorker``; they never wait for inference. The worker thread decodes (a zero-copy view for
rgb8), undistorts (cached remap maps, when the CameraInfo has non-zero D and ``input.use_rectified`` is
false), runs ``wildhands_core.pipeline.HandPipeline.process`` and publishes
(``output_publishing.FrameOutputs``). When images arrive faster than inference, the newest frame wins and
each replaced frame is counted (diagnostics ``frames_dropped``).

Outputs (header = the input image's header: its stamp and camera optical frame, never "now"):
``~/hands`` (wildhands_ros/HandArray), ``/tf`` (optical frame -> ``<prefix>{left,right}_wrist``, optionally
-> fingertips), ``~/markers`` (visualization_msgs/MarkerArray), ``/diagnostics``, ``~/debug_image``,
``~/gripper_targets``, ``~/robot_hand/{left,right}/joint_states`` (with ``retargeting.robot`` set).
Every rejected input is counted by reason, every flagged one (kept, but suspicious) too; both are reported
on /diagnostics and logged at most once per ``reporting.LOG_PERIOD_S`` per reason.
"""

from __future__ import annotations

import threading
import time

from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from std_msgs.msg import Header

from wildhands_core.captured_output import captured_output, reports_a_problem
from wildhands_core.detection.base import HandDetection
from wildhands_core.pipeline import Estimator, HandPipeline
from wildhands_core.stamps import ns_to_seconds, seconds_to_ns
from wildhands_core.undistortion import Undistorter
from wildhands_ros import input_qos, params
from wildhands_ros.diagnostics import NodeStats, stats_to_diagnostics
from wildhands_ros.headers import latency_is_meaningful
from wildhands_ros.input_handling import Frame, InputHandler, decode_frame, keep_reset_request
from wildhands_ros.output_publishing import FrameOutputs
from wildhands_ros.reporting import Reporter
from wildhands_ros.worker import LatestFrameWorker

#: The WARN of a node that runs the shipped demo checkpoint (``model.checkpoint`` empty).
DEMO_CHECKPOINT_WARNING = (
    "model.checkpoint is empty: running the shipped DEMO checkpoint {path}, a model of the project's "
    "SYNTHETIC hands only (its estimates of real hands are not meaningful). Set a real checkpoint (the "
    "authors' released .ckpt or your own) with the launch argument checkpoint:=/path/model.ckpt or the "
    "parameter model.checkpoint"
)


def checkpoint_to_load(settings: params.NodeSettings) -> tuple[str | None, bool]:
    """(checkpoint file, is the shipped demo one): ``model.checkpoint``; when it is empty, None (an untrained
    network) with ``model.allow_random_weights``, else the shipped demo checkpoint
    (``wildhands_core.demo_model``). Raises ``params.ParameterError`` when that file is missing too."""
    if settings["model.checkpoint"]:
        return settings["model.checkpoint"], False
    if settings["model.allow_random_weights"]:
        return None, False
    from wildhands_core.demo_model import default_model_dir

    demo = default_model_dir() / "wildhands_demo.pt"
    if not demo.is_file():
        raise params.ParameterError(
            "model.checkpoint", f"is empty and the shipped demo checkpoint {demo} is missing: set one"
        )
    return str(demo), True


def build_estimator(settings: params.NodeSettings, checkpoint: str | None) -> Estimator:
    """The project's HandPoseEstimator from the ``model.*`` parameters and ``checkpoint`` (None: random
    weights, see :func:`checkpoint_to_load`)."""
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator

    cfg = EstimatorConfig(
        checkpoint=checkpoint,
        mano_dir=settings["model.mano_dir"] or None,
        backend=settings["model.backend"],
        onnx_path=settings["model.onnx_path"] or None,
        device=settings["model.device"],
        threads=int(settings["model.threads"]),
        crop_scale=float(settings["model.crop_scale"]),
        max_hands=int(settings["model.max_hands"]),
        return_vertices=bool(settings["model.publish_mesh"]),
        allow_random_weights=checkpoint is None,
    )
    return HandPoseEstimator(cfg)


class HandsNode(LifecycleNode):
    """See the module docstring. ``estimator`` may be given (benchmarks); else built from parameters at
    configure. ``inputs`` (the subscriptions' side) lives as long as the node; ``outputs`` (the per-frame
    publishers), ``estimator`` and ``pipeline`` exist while configured, ``worker`` while active.

    Raises ``params.ParameterError`` (naming the parameter) when the configuration is invalid, and
    ``RuntimeError`` when ``lifecycle.autostart`` is set and configure or activate fails.
    """

    def __init__(self, node_name: str = "hands", estimator: Estimator | None = None, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        try:
            self._set_up(estimator)
        except BaseException:
            self.destroy_node()  # a node that failed to start leaves the ROS graph at once
            raise

    def _set_up(self, estimator: Estimator | None) -> None:
        """Everything of ``__init__`` after the rclpy node exists (see the class docstring)."""
        self.settings = params.load(self)
        s = self.settings
        image_topic = s["topics.compressed_image"] if s["input.use_compressed"] else s["topics.image"]
        for warning in input_qos.deprecation_warnings(s, self.resolve_topic_name(image_topic)):
            self.get_logger().warning(warning)
        self.checkpoint: str | None = None
        if estimator is None:
            self.checkpoint, is_demo = checkpoint_to_load(s)
            if is_demo:
                self.get_logger().warning(DEMO_CHECKPOINT_WARNING.format(path=self.checkpoint))
        self._given_estimator = estimator
        self.estimator: Estimator | None = None
        self.backend_name = ""
        self.pipeline: HandPipeline | None = None
        self.worker: LatestFrameWorker | None = None
        self.outputs: FrameOutputs | None = None
        self.diag_pub = None
        self._diag_timer = None
        self.stats = NodeStats(int(s["diagnostics.window"]))
        self.report = Reporter(self.stats, self.get_logger())
        self.inputs = InputHandler(self, s, self.report, self._submit, self._give_boxes)
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._undistorter = Undistorter()
        self._stopping = False
        self._transition_error: BaseException | None = None
        self._state = "unconfigured"
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if s["lifecycle.autostart"]:
            self.autostart()

    def autostart(self) -> None:
        """configure + activate; raises RuntimeError (with the cause) when either fails."""
        for name, trigger in (("configure", self.trigger_configure), ("activate", self.trigger_activate)):
            if trigger() != TransitionCallbackReturn.SUCCESS:
                raise RuntimeError(f"{name} failed: {self._transition_error}") from self._transition_error

    # --------------------------------------------------------------------------------- lifecycle
    def _failed(self, transition: str, exc: BaseException) -> TransitionCallbackReturn:
        """Log and keep (for ``autostart``) why ``transition`` failed."""
        self._transition_error = exc
        self.get_logger().error(f"{transition} failed: {type(exc).__name__}: {exc}")
        return TransitionCallbackReturn.FAILURE

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self._configure()
        except Exception as exc:
            self._free()
            return self._failed("configure", exc)
        self._state = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        """Load (or take) the estimator, build the pipeline, warm it up, create the publishers."""
        s = self.settings
        estimator = self._given_estimator
        if estimator is None:
            if self.checkpoint is None:
                self.get_logger().warning(
                    "model.checkpoint is empty and model.allow_random_weights is set: RANDOM network "
                    "weights, outputs are meaningless (testing only)"
                )
            with captured_output(self._third_party_log):  # smplx prints while loading MANO
                estimator = build_estimator(s, self.checkpoint)
        self.estimator = estimator
        self.backend_name = estimator.backend_name
        with captured_output(self._third_party_log):  # MediaPipe: TFLite and absl log natively
            self.pipeline = HandPipeline(estimator, s.pipeline_config())
        for source, why in self.pipeline.skipped_sources.items():
            self.get_logger().warning(f"detector source '{source}' skipped: {why}")
        if not self.pipeline.active_sources:
            self.get_logger().error("no detector source is available: no hand will ever be found")
        faces = estimator.mano_faces() if s["model.publish_mesh"] else None
        t_warm = time.perf_counter()
        with captured_output(self._third_party_log):
            self.pipeline.warmup()
        self.get_logger().info(f"warm-up: {1e3 * (time.perf_counter() - t_warm):.0f} ms")
        self.outputs = FrameOutputs(self, s, faces)
        from diagnostic_msgs.msg import DiagnosticArray

        # a plain publisher: /diagnostics is reported in every configured state
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._diag_timer = self.create_timer(
            float(s["diagnostics.period_s"]), self._publish_diagnostics, clock=self._steady
        )

    def _third_party_log(self, line: str) -> None:
        """A line that a library wrote to stdout/stderr while the model loaded, through this node's logger
        (so on /rosout, named): debug, or warning when it reports a problem."""
        log = self.get_logger().warning if reports_a_problem(line) else self.get_logger().debug
        log(f"(third-party output) {line}")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stopping = False
        self.worker = LatestFrameWorker(
            self._process, on_error=self._on_worker_error, on_drop=lambda _f: self.stats.on_dropped(),
            merge=keep_reset_request,
        )
        try:
            self.inputs.subscribe(with_boxes=self.pipeline.external is not None)
        except Exception as exc:
            self._stop_inputs()
            return self._failed("activate", exc)
        self._state = "active"
        self.get_logger().info(
            f"active: backend {self.backend_name}, detector sources {self.pipeline.active_sources}, "
            f"image topic {self.resolve_topic_name(self.settings['topics.image'])}, "
            f"MANO {self.estimator.mano_source}"
        )
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._state = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._free()
        self._state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._free()
        self._state = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._free()
        self._state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def _stop_inputs(self) -> None:
        """Unsubscribe, stop the worker (after the frame in progress, whose outputs are not published)
        and forget waiting images."""
        self._stopping = True
        self.inputs.unsubscribe()
        if self.worker is not None:
            self.worker.stop(timeout_s=0.5)
            self.worker = None

    def _free(self) -> None:
        """Destroy the publishers and the diagnostics timer, drop the model."""
        if self.outputs is not None:
            self.outputs.destroy()
        self.outputs = None
        if self.diag_pub is not None:
            self.destroy_publisher(self.diag_pub)
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
        self.diag_pub = self._diag_timer = None
        self.pipeline = None
        self.estimator = None
        self._undistorter.clear()

    def _on_set_parameters(self, ps):
        apply = self.pipeline.update_smoothing if self.pipeline is not None else (lambda _s: None)
        return params.on_set_parameters(self.settings, ps, apply)

    # ------------------------------------------------------------------------ inputs -> worker
    def _submit(self, frame: Frame) -> None:
        worker = self.worker
        if worker is not None:
            worker.submit(frame)

    def _give_boxes(self, stamp_ns: int, detections: list[HandDetection]) -> None:
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.set_external_boxes(stamp_ns, detections)

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    # ------------------------------------------------------------------------------------- worker
    def _process(self, f: Frame) -> None:
        """One frame in the worker thread: decode, undistort, estimate, publish, count."""
        t0 = time.perf_counter()
        image = decode_frame(f, int(self.settings["input.max_image_pixels"]), self._undistorter)
        pipeline = self.pipeline
        if pipeline is None or self._stopping:
            return
        if f.reset_tracking:
            pipeline.reset()
            if self.outputs is not None and self.outputs.robot_hand_out is not None:
                self.outputs.robot_hand_out.reset()
        estimates = pipeline.process(image, f.camera.K_px, f.stamp_ns)
        model_s = pipeline.last_timing.estimate_s + pipeline.last_timing.detect_s
        outputs = self.outputs
        if self._stopping or outputs is None:
            return  # shutting down: the publishers (or the context) may already be gone
        latency_ms = (self._now_ns() - f.stamp_ns) / 1e6
        published = outputs.publish(f.header, image, estimates, pipeline.last_raw, latency_ms)
        now_ns = self._now_ns()
        latency_ms = (now_ns - f.stamp_ns) / 1e6
        max_age_ns = seconds_to_ns(float(self.settings["input.max_stamp_age_s"]))
        if not latency_is_meaningful(f.stamp_ns, now_ns, max_age_ns):
            self.report.flag(
                "stamp_old",
                f"image stamp {ns_to_seconds(f.stamp_ns):.3f} s is {latency_ms / 1e3:.1f} s behind the "
                "node's clock (bag without use_sim_time?): left out of the latency statistics",
            )
            latency_ms = None
        self.stats.on_processed(latency_ms, (time.perf_counter() - t0) * 1e3, model_s * 1e3, published)

    def _on_worker_error(self, frame: Frame, exc: BaseException) -> None:
        if self._stopping:
            return  # the context may be going away: outputs of the last frame are dropped quietly
        self.report.processing_error(exc)

    # -------------------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        pipeline, estimator = self.pipeline, self.estimator
        if self.diag_pub is None or pipeline is None or estimator is None:
            return
        inputs = self.inputs
        extra = {
            "lifecycle_state": self._state,
            "detector_sources": ",".join(pipeline.active_sources),
            "camera_info_reused": str(inputs.reused_info),
            "waiting_for_camera_info": str(inputs.pairer.waiting),
            "undistortion_map_builds": str(self._undistorter.builds),
            "frames_with_default_frame_id": str(inputs.default_frame_used),
            "resolution_changes": str(inputs.resolution_changes),
            "camera_switches": str(inputs.camera_switches),
            "mano_model": str(estimator.mano_source),
        }
        for source, why in pipeline.skipped_sources.items():
            extra[f"detector_skipped.{source}"] = why
        for reason, n in pipeline.tracker.ended.items():
            extra[f"tracks_ended.{reason}"] = str(n)
        for reason, n in sorted(pipeline.withheld.items()):
            extra[f"estimates_withheld.{reason}"] = str(n)
        outputs = self.outputs
        if outputs is not None and outputs.robot_hand_out is not None:
            extra.update(outputs.robot_hand_out.diagnostics())
        self.diag_pub.publish(
            stats_to_diagnostics(
                self.stats.snapshot(),
                Header(stamp=self.get_clock().now().to_msg()),
                f"{self.get_name()}: hand pose",
                f"wildhands/{self.backend_name}",
                self.backend_name,
                extra,
                inactive=self._state != "active",
            )
        )

    @property
    def finalized(self) -> bool:
        """True after the ``shutdown`` transition: :func:`spin` returns, the process exits."""
        return self._state == "finalized"

    def stop(self) -> None:
        """Stop taking frames and let the worker finish (its last outputs are not published): call before
        the context shuts down, so nothing publishes on a dead context."""
        self._stop_inputs()

    def destroy_node(self) -> None:
        """Stop the inputs and the worker, destroy the node's entities and the node itself. rclpy's
        LifecycleNode leaves its lifecycle state machine alive, and the state machine holds the rcl node:
        without destroying it the node stayed in the ROS graph after the process exited until its
        discovery lease ran out (about 20 s with Fast DDS)."""
        if hasattr(self, "inputs"):  # absent when __init__ failed (invalid parameters)
            self._stop_inputs()
        super().destroy_node()
        state_machine = getattr(self, "_state_machine", None)
        if state_machine is not None:
            from rclpy.exceptions import InvalidHandle

            try:
                state_machine.destroy_when_not_in_use()
            except InvalidHandle:
                pass  # already destroyed (an rclpy that does it itself)


def spin(node: HandsNode, stop: threading.Event | None = None) -> None:
    """Spin ``node`` until ``stop`` is set, the node is finalized (the lifecycle ``shutdown`` transition,
    whose answer has been sent by then) or the context shuts down (polling every 0.1 s, so a signal handler
    that sets ``stop`` is honoured at once)."""
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    try:
        executor = SingleThreadedExecutor(context=node.context)
    except Exception:
        if not node.context.ok():
            return  # shut down during start-up
        raise
    executor.add_node(node)
    try:
        while node.context.ok() and not node.finalized and not (stop is not None and stop.is_set()):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown(timeout_sec=0.5)


__all__ = ["DEMO_CHECKPOINT_WARNING", "HandsNode", "build_estimator", "checkpoint_to_load", "spin"]
