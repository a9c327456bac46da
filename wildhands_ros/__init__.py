"""wildhands_ros: the ROS 2 adapter of wildhands (messages in, wildhands_core calls, messages/TF out).

The generated message modules (``wildhands_ros.msg``) live in the ROS install tree of this package; on a
machine without an apt ROS install they sit in .ros/install while these modules come from the source
tree, so the package path is extended to every ``wildhands_ros`` directory on ``sys.path``.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
