#!/usr/bin/env bash
# Train the demo model on a GPU machine for a fixed time: render the synthetic training set on that
# machine's cores, train training/configs/demo_model_lite0.yaml with CUDA + mixed precision end to end (every layer
# trainable) for MINUTES of wall-clock time, and write the checkpoints, the packed demo checkpoint and the logs
# to DIR.
#
#   scripts/gpu_train_demo.sh DIR MINUTES [key.sub=value ...]     # extra training overrides
#
# Environment: FRAMES (synthetic frames to render, default 24000), BATCH (frames per step, default 64),
# LR (default 5e-4), WORKERS (render processes and loader workers, default: all cores but 2),
# DEVICE (default cuda; "cpu" only to test this script), CONFIG (default training/configs/demo_model_lite0.yaml).
# Output: DIR/data (rendered set), DIR/run (training checkpoints: step_*.pt, last.pt, config.yaml),
# DIR/wildhands_demo.pt (packed, the shape models/demo/ ships), DIR/render.log, DIR/train.log.
# Resumable: a second call with the same DIR continues from DIR/run/last.pt for another MINUTES.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DIR MINUTES [key.sub=value ...]" >&2
  exit 2
fi
dir=$1
minutes=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
wh=("$top/scripts/wh")
frames=${FRAMES:-24000}
batch=${BATCH:-64}
lr=${LR:-5e-4}
device=${DEVICE:-cuda}
config=${CONFIG:-training/configs/demo_model_lite0.yaml}
cores=$(nproc)
workers=${WORKERS:-$(( cores > 3 ? cores - 2 : 1 ))}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export PYTHONPATH="$top${PYTHONPATH:+:$PYTHONPATH}"

if [ "$device" = cuda ] && ! "${wh[@]}" python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  echo "$0: no CUDA device here (DEVICE=cpu runs it on the CPU, for testing this script)" >&2
  exit 3
fi

if [ ! -f "$dir/data/.complete" ]; then
  echo "rendering $frames frames with $workers processes -> $dir/data"
  rm -rf "$dir/data"
  "${wh[@]}" wildhands-synth --out "$dir/data" --frames "$frames" --seed 1 --size 320x240 --workers "$workers" \
    > "$dir/render.log" 2>&1
  touch "$dir/data/.complete"
fi

resume=()
if [ -f "$dir/run/last.pt" ]; then
  resume=("resume=$dir/run/last.pt")
fi
echo "training $config on $device for $minutes min (batch $batch, lr $lr) -> $dir/run"
"${wh[@]}" wildhands-train "$config" \
  "device=$device" "data.datasets.0.root=$dir/data" "data.num_workers=$workers" \
  "optim.batch_size=$batch" "optim.lr=$lr" "optim.amp=true" "optim.max_steps=1000000" "optim.freeze_prefixes=[]" \
  "log.out_dir=$dir/run" "log.progress=false" "log.ckpt_every=500" "log.log_every=25" \
  "${resume[@]}" "$@" --minutes "$minutes" 2>&1 | tee -a "$dir/train.log"
"${wh[@]}" python scripts/pack_demo_model.py "$dir/run/last.pt" "$dir/wildhands_demo.pt" | tee -a "$dir/train.log"
