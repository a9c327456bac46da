"""Training throughput on this machine, with a profile of one step: where a ``Trainer.train_step`` goes.

    python benchmarks/train_throughput.py --config training/configs/demo_model.yaml \
        --data data/synth_train [--steps 4]
        [--override optim.batch_size=8 ...]

Per step (mean over ``--steps`` after one warm-up step): building the batch (decode, crop, augment, collate;
``data``), the network (``net``: trunks, fusion, heads), MANO and the camera geometry after it (``mano``),
the loss terms (``loss``), ``backward`` and the optimiser step (``optim``). Printed side by side for the
configuration as it was before issue 19's throughput changes (``before``: one torch thread per core,
contiguous layout) and as it is now (``after``: the config's ``threads`` and ``channels_last``), in one run,
as frames per second of the whole step. What was not compute: on a 2-core machine shared with other jobs,
two OpenMP threads wait on each other at every operator (an Adam step of the demo model: 45 ms with 1
thread, 560 ms with 2, under load); and the depthwise convolutions of MobileNet/EfficientNet trunks take
oneDNN's fast path only in channels-last layout. The data column is the cost of building a batch, which the
loader's worker process overlaps with the step when ``data.num_workers`` > 0.

Measured (training/configs/demo_model_lite0.yaml end to end, ``--override optim.freeze_prefixes=[]``, 3 steps,
machine
shared with other jobs): before 0.94 frames/s (17.0 s per step: net 3.7, backward 13.1), after 5.30 frames/s
(3.0 s: net 1.1, backward 1.9).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from training.config import load_train_config
from training.losses import compute_losses
from training.step_batches import StepBatches
from training.trainer import Trainer

STAGES = ("data", "net", "mano", "loss", "backward", "optim")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def profile_steps(trainer: Trainer, steps: int) -> tuple[dict[str, float], int, int]:
    """Mean seconds per stage of ``steps`` training steps (after one warm-up); (stages, frames, hands)."""
    net, dev = trainer.model.net, trainer.device
    marks: dict[str, float] = {}

    def pre(*_: object) -> None:
        _sync(dev)
        marks["net_start"] = time.perf_counter()

    def post(*_: object) -> None:
        _sync(dev)
        marks["net_end"] = time.perf_counter()

    h1, h2 = net.register_forward_pre_hook(pre), net.register_forward_hook(post)
    source = StepBatches(trainer.datasets, trainer.groups, trainer.sampler, trainer.cfg, trainer.weights)
    total = dict.fromkeys(STAGES, 0.0)
    frames = hands = 0
    try:
        for k in range(steps + 1):
            t0 = time.perf_counter()
            batch = source[k].to(dev)
            _sync(dev)
            t1 = time.perf_counter()
            trainer._train_mode()
            trainer.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(dev.type, dtype=torch.float16, enabled=trainer.use_amp):
                out = trainer.model(**batch.inputs, return_vertices=trainer.need_vertices)
            _sync(dev)
            t2 = time.perf_counter()
            loss, _ = compute_losses(out, batch, trainer.model.mano_r.faces, trainer.model.mano_l.faces,
                                     trainer.cfg.loss)
            _sync(dev)
            t3 = time.perf_counter()
            trainer.scaler.scale(loss).backward()
            _sync(dev)
            t4 = time.perf_counter()
            trainer.scaler.step(trainer.optimizer)
            trainer.scaler.update()
            _sync(dev)
            t5 = time.perf_counter()
            if k == 0:
                continue  # warm-up
            frames, hands = frames + batch.num_frames, hands + batch.num_hands
            net_s = marks["net_end"] - marks["net_start"]
            for name, dt in (("data", t1 - t0), ("net", net_s), ("mano", t2 - t1 - net_s), ("loss", t3 - t2),
                             ("backward", t4 - t3), ("optim", t5 - t4)):
                total[name] += dt
    finally:
        h1.remove()
        h2.remove()
    return {k: v / steps for k, v in total.items()}, frames, hands


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="training/configs/demo_model.yaml")
    p.add_argument("--data", required=True, help="wildhands-synth directory (replaces the config's roots)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--override", action="append", default=[], help="extra dotted config override")
    a = p.parse_args()
    common = [f"data.datasets.0.root={a.data}", "log.progress=false", "log.tensorboard=false",
              "log.out_dir=/tmp/wildhands_throughput", "init_from=null", *a.override]
    variants = {"before": BEFORE, "after": []}  # "before" first: threads are process-wide
    rows = {}
    for name, extra in variants.items():
        cfg = load_train_config(a.config, common + extra)
        trainer = Trainer(cfg, verbose=False)
        rows[name] = profile_steps(trainer, a.steps)
    print(f"{a.config}, {a.steps} steps, device {trainer.device}, {torch.get_num_threads()} threads")
    print(f"{'stage (s / step)':<18}" + "".join(f"{n:>10}" for n in rows) + f"{'after/before':>14}")
    for s in STAGES:
        b, af = rows["before"][0][s], rows["after"][0][s]
        print(f"{s:<18}{b:>10.3f}{af:>10.3f}{af / max(b, 1e-9):>14.2f}")
    for name, (st, frames, hands) in rows.items():
        step_s = sum(v for k, v in st.items() if k != "data")
        print(f"{name}: {step_s:.2f} s per step without data, {frames / a.steps / step_s:.2f} frames/s, "
              f"{hands / a.steps / step_s:.2f} hands/s; with data in the training process "
              f"{frames / a.steps / (step_s + st['data']):.2f} frames/s")


#: Overrides that restore the training set-up before issue 19's throughput changes: torch's default of one
#: intra-op thread per core (the configs now name ``threads``; the demo configs use 1 + 1 loader worker) and
#: the default (contiguous) memory layout (``channels_last``).
BEFORE: list[str] = [f"threads={os.cpu_count()}", "channels_last=false"]


if __name__ == "__main__":
    main()
