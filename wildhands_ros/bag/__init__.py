"""rosbag2 tools without rclpy: offline estimation (``process``) and export to learning arrays (``export``).

Command line: ``wildhands-bag`` (``wildhands_ros.bag.cli:main``).
"""
