"""Training throughput on this machine: frames (and hands) per second of ``Trainer.train_step``.

    python benchmarks/train_throughput.py --data DIR [--backbone resnet18] [--batch 2] [--steps 3]
"""

from __future__ import annotations

import argparse
import time

from training.config import load_train_config
from training.trainer import Trainer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="wildhands-synth directory")
    p.add_argument("--backbone", default="resnet50")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    a = p.parse_args()
    cfg = load_train_config(None, [
        f"data.datasets=[{{name: synthetic, root: '{a.data}'}}]", f"model.backbone={a.backbone}",
        f"optim.batch_size={a.batch}", "log.progress=false", "log.tensorboard=false", "data.num_workers=0",
        "log.out_dir=/tmp/wildhands_throughput",
    ])
    tr = Trainer(cfg, verbose=False)
    loader = iter(tr.batches(0, a.steps + 1))
    tr.train_step(next(loader))  # warm-up
    frames = hands = 0
    t = time.perf_counter()
    for _ in range(a.steps):
        b = next(loader)
        tr.train_step(b)
        frames, hands = frames + b.num_frames, hands + b.num_hands
    dt = time.perf_counter() - t
    print(f"{a.backbone} (full widths, grasp head, mask loss): {frames / dt:.3f} frames/s, "
          f"{hands / dt:.3f} hands/s, {dt / a.steps:.2f} s/step, batch {a.batch} frames")


if __name__ == "__main__":
    main()
