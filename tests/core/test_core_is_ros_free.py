"""wildhands_core, wildhands_synth, wildhands_offline and training must import with no ROS on the path."""

from __future__ import annotations

import subprocess
import sys

CODE = r"""
import importlib, pkgutil, sys
sys.modules['rclpy'] = None  # any `import rclpy` now raises ImportError
import wildhands_core, wildhands_synth, wildhands_offline, training
names = []
for pkg in (wildhands_core, wildhands_synth, wildhands_offline, training):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):
        importlib.import_module(m.name)
        names.append(m.name)
ros = ('rclpy', 'rosidl_runtime_py', 'wildhands_ros')
bad = [m for m, mod in sys.modules.items() if mod is not None and m.split('.')[0] in ros]
assert not bad, bad
print(len(names))
"""


def test_every_core_and_training_module_imports_without_rclpy():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 1
