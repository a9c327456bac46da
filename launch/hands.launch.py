"""Launch the WildHands hand-pose node for one camera.

    ros2 launch wildhands_ros hands.launch.py camera_namespace:=camera image_topic:=image_raw \
        checkpoint:=/path/wildhands.ckpt params_file:=/path/hands.yaml backend:=onnxruntime \
        use_sim_time:=false tf_frame_prefix:=head_

With no argument it starts on the shipped demo checkpoint (a model of synthetic hands only; the node warns
and says how to set a real one) and the MediaPipe detector, reading ``camera/image_raw``.

A relative camera_namespace resolves in the node's namespace (``namespace:=robot1`` or an enclosing
``PushRosNamespace``); the input topics are named only by these arguments (the params file's ``topics.*``
are pinned to the remapped defaults).

The node is a managed (lifecycle) node, started as launch_ros's ``LifecycleNode``: launch's ``ChangeState``
events and ``OnStateTransition`` handlers drive it like any managed node. ``autostart:=true`` (default) has
the node configure and activate itself; ``autostart:=false`` starts it unconfigured, for
``ros2 lifecycle set``, a launch ``ChangeState`` event or ``nav2_lifecycle_manager`` (see README). After the
``shutdown`` transition the process exits (status 0).

The node description comes from ``wildhands_ros.launch_logic.node_description`` (also used by the tests,
which start the same node with ``python -m wildhands_ros`` where the ``launch`` package is missing).
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

from launch import LaunchDescription
from wildhands_core.backend_names import BACKENDS
from wildhands_ros.launch_logic import default_params_file, node_description

ARGUMENTS = {
    "camera_namespace": ("camera", "namespace of the camera's topics (relative: in the node's namespace)"),
    "image_topic": ("image_raw", "image topic, relative to camera_namespace"),
    "camera_info_topic": ("camera_info", "CameraInfo topic, relative to camera_namespace"),
    "boxes_topic": ("", "external HandBoxArray detections (empty = the node's ~hand_boxes default)"),
    "params_file": (str(default_params_file()), "parameters file (config/hands.yaml)"),
    "checkpoint": (
        "",
        "estimator checkpoint (.ckpt/.pt); empty = the params file's model.checkpoint, and when that is "
        "empty too the shipped demo checkpoint (synthetic hands only)",
    ),
    "mano_dir": ("", "directory of the licensed MANO files (empty = the params file's model.mano_dir)"),
    "backend": ("", f"{' | '.join(BACKENDS)} (empty = the params file's)"),
    "use_sim_time": ("false", "use /clock (bag playback)"),
    "namespace": ("", "namespace of the node"),
    "name": ("hands", "name of the node"),
    "tf_frame_prefix": ("", "prefix of the hand TF frames, one per camera (empty = the params file's)"),
    "autostart": ("true", "configure and activate the lifecycle node at start-up"),
}


def _launch(context, *args, **kwargs):
    values = {k: LaunchConfiguration(k).perform(context) for k in ARGUMENTS}
    values["frame_prefix"] = values.pop("tf_frame_prefix")
    d = node_description(**values)
    return [
        LifecycleNode(
            package=d.package,
            executable=d.executable,
            name=d.name,
            namespace=d.namespace,
            parameters=d.parameters,
            remappings=d.remappings,
            output=d.output,
        )
    ]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(k, default_value=v, description=doc) for k, (v, doc) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_launch)]
    )
