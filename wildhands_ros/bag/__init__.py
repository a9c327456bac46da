"""rosbag2 tools without rclpy: offline estimation (``process``) and export to learning arrays (``export``:
npz + Parquet, or a LeRobot dataset, ``lerobot_export``), in the camera or any TF frame, with gripper targets.

Command line: ``wildhands-bag`` (``wildhands_ros.bag.cli:main``).
"""
