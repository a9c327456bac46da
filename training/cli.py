"""Command-line entry points ``wildhands-train`` and ``wildhands-eval``.

    wildhands-train CONFIG.yaml [key.sub=value ...] [--steps N] [--minutes M]
    torchrun --nproc_per_node=2 -m training.cli CONFIG.yaml [overrides]        # DDP
    wildhands-eval CHECKPOINT --dataset NAME=PATH [--dataset NAME=PATH ...] [-o NAME.KEY=VALUE]
                   [--json out.json]
                   [--crop-scale S] [--max-frames N] [--mano-dir D] [--device cpu]

``NAME`` is an adapter name (``training.datasets.dataset_registry``: arctic, assemblyhands, h2o, ...,
synthetic), optionally ``NAME:LABEL=PATH`` to evaluate one adapter on several roots.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["eval_main", "train_main"]

TREND_WINDOW = 20  # steps averaged at each end of a run for the printed per-term loss trend


def parse_train_command_line(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; options may stand between the config and its overrides."""
    return _train_parser().parse_intermixed_args(argv)


def _train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wildhands-train", description="Train WildHands (training.trainer).")
    p.add_argument("config", help="training YAML (see training/configs/)")
    p.add_argument("overrides", nargs="*", help="dotted overrides: optim.lr=2e-5 data.datasets.0.root=/d")
    p.add_argument("--steps", type=int, default=None, help="stop after N steps (default: config)")
    p.add_argument("--resume", default=None, help="training checkpoint to continue exactly")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this much wall-clock time (then write last.pt, resumable)")
    return p


def train_main(argv: list[str] | None = None) -> int:
    """``wildhands-train``: returns the process exit status."""
    args = parse_train_command_line(argv)
    from training.config import load_train_config
    from training.loss_trend import format_loss_trend, loss_trend
    from training.trainer import Trainer

    try:
        overrides = list(args.overrides) + ([f"resume={args.resume}"] if args.resume else [])
        cfg = load_train_config(args.config, overrides)
    except (OSError, ValueError, KeyError) as exc:
        print(f"wildhands-train: bad configuration: {exc}", file=sys.stderr)
        return 2
    trainer = Trainer(cfg)
    history = trainer.fit(args.steps, None if args.minutes is None else 60.0 * args.minutes)
    trainer.close()
    if history and trainer.rank == 0:
        last = history[-1]
        terms = "  ".join(f"{k} {v:.4g}" for k, v in last.items() if k not in ("step",))
        print(f"done: step {trainer.step}  {terms}  checkpoint {Path(cfg.log.out_dir) / 'last.pt'}")
        print(f"loss terms over this run (mean of the first vs the last {TREND_WINDOW} steps):")
        print(format_loss_trend(loss_trend(history, TREND_WINDOW)))
    return 0


def _eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wildhands-eval", description="Evaluate a checkpoint.")
    p.add_argument("checkpoint", help="project or released checkpoint")
    p.add_argument("--dataset", action="append", required=True, metavar="NAME=PATH",
                   help="adapter name (or NAME:LABEL) = dataset root; repeatable")
    p.add_argument("-o", "--option", action="append", default=[], metavar="LABEL.KEY=VALUE",
                   help="adapter keyword argument of one --dataset (YAML value): -o h2o.split=val; "
                        "repeatable")
    p.add_argument("--json", default=None, help="also write the results as JSON here")
    p.add_argument("--crop-scale", type=float, default=None,
                   help="evaluation crop scale for every dataset (default: the paper's, 1.5 x the tight box; "
                        "AssemblyHands 1.75)")
    p.add_argument("--max-frames", type=int, default=None, help="frames per dataset (default: all)")
    p.add_argument("--mano-dir", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--progress", action="store_true")
    return p


def eval_main(argv: list[str] | None = None) -> int:
    """``wildhands-eval``: prints the table (and writes JSON); returns the process exit status."""
    args = _eval_parser().parse_args(argv)
    from training.datasets import build_dataset
    from training.evaluate import METRICS, eval_crop_scale, evaluate_checkpoint, format_conventions
    from wildhands_core.metrics import format_results_table, results_to_json

    datasets = {}
    try:
        import yaml

        options: dict[str, dict] = {}
        for item in args.option:
            key, sep, text = item.partition("=")
            label, dot, opt = key.partition(".")
            if not sep or not dot:
                raise ValueError(f"-o must look like LABEL.KEY=VALUE, got {item!r}")
            options.setdefault(label, {})[opt] = yaml.safe_load(text)
        for item in args.dataset:
            if "=" not in item:
                raise ValueError(f"--dataset must look like NAME=PATH, got {item!r}")
            key, root = item.split("=", 1)
            name, _, label = key.partition(":")
            datasets[label or name] = build_dataset(name, root, options.pop(label or name, {}), args.mano_dir)
        if options:
            raise ValueError(f"-o names no --dataset: {sorted(options)}")
    except (OSError, ValueError, KeyError) as exc:
        print(f"wildhands-eval: {exc}", file=sys.stderr)
        return 2
    results = evaluate_checkpoint(args.checkpoint, datasets, args.crop_scale, args.mano_dir, args.max_frames,
                                  args.device, args.progress)
    print(format_results_table(results, list(METRICS)))
    scales = ", ".join(f"{k} {args.crop_scale or eval_crop_scale(d):g}" for k, d in datasets.items())
    print(f"columns (crops: {scales} x the tight box, no padding):")
    print(format_conventions(METRICS))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(results_to_json(results) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(train_main())
