"""``wildhands-data``: check that a dataset root reads with its adapter before training on it.

    wildhands-data check NAME ROOT [-o key=value ...] [--read N] [--mano-dir D]

``NAME`` is an adapter name (``training.datasets.dataset_registry``); ``-o`` passes adapter keyword arguments
(values parsed as YAML: ``-o split=val``, ``-o source=authors_seg``). Prints how many hands (samples) and
frames the annotations hold, then reads ``--read`` samples spread over the set (images included) and counts
their labels and the problems met, printing the first few. Exit status: 0 = no problem, 1 = some samples
failed to read, 2 = the root does not read at all (the message names the first file or key expected).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import numpy as np
import yaml

__all__ = ["check_dataset", "main"]

SHOWN_PROBLEMS = 5


def check_dataset(
    name: str, root: str, kwargs: dict | None = None, read: int = 50, mano_dir: str | None = None
) -> tuple[dict, list[str]]:
    """Build the adapter and read up to ``read`` samples: ({"hands", "frames", "read", label counts...,
    "build_s"}, [problem messages]). Construction errors propagate (``DatasetFileError`` /
    ``DatasetFormatError``)."""
    from training.datasets import build_dataset
    from training.sampler import frame_groups

    t0 = time.perf_counter()
    ds = build_dataset(name, root, kwargs, mano_dir)
    stats: dict = {"build_s": time.perf_counter() - t0, "hands": len(ds), "frames": len(frame_groups(ds))}
    labels: Counter = Counter()
    problems: list[str] = []
    idx = np.unique(np.linspace(0, len(ds) - 1, min(read, len(ds))).round().astype(int)) if len(ds) else []
    for i in idx:
        try:
            s = ds[int(i)]
        except Exception as e:  # every failure is reported, none stops the check
            problems.append(f"sample {int(i)}: {type(e).__name__}: {e}")
            continue
        labels["read"] += 1
        for key in ("has_mano", "has_joints3d", "has_keypoints2d", "has_mask", "has_grasp"):
            labels[key.removeprefix("has_")] += bool(getattr(s, key, False))
        labels["right"] += bool(s.is_right)
        labels["K_assumed"] += bool(s.extra.get("K_assumed", False))
    stats.update({"read": 0, **labels})
    return stats, problems


def _parse_kwargs(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"-o expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = yaml.safe_load(v)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wildhands-data", description="Check a dataset root with its adapter.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="count the frames/hands an adapter reads and report the first problems")
    c.add_argument(
        "name",
        help="adapter name (arctic, assemblyhands, epic_visor, ego4d_grasp, hands23, h2o, "
        "epic_handkps, egoexo4d_hands, synthetic)",
    )
    c.add_argument("root", help="dataset root directory")
    c.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="adapter keyword argument (YAML value), repeatable",
    )
    c.add_argument("--read", type=int, default=50, help="samples to read, spread over the set (default 50)")
    c.add_argument("--mano-dir", default=None, help="MANO model directory (ARCTIC)")
    args = p.parse_args(argv)
    from training.datasets.base import DatasetFileError, DatasetFormatError

    try:
        stats, problems = check_dataset(
            args.name, args.root, _parse_kwargs(args.option), args.read, args.mano_dir
        )
    except (DatasetFileError, DatasetFormatError, KeyError, ValueError, TypeError) as e:
        print(f"wildhands-data: {args.name} at {args.root} does not read: {e}", file=sys.stderr)
        return 2
    print(
        f"{args.name} at {args.root}: {stats['hands']} hands in {stats['frames']} frames "
        f"(annotations read in {stats['build_s']:.1f} s)"
    )
    keys = ("mano", "joints3d", "keypoints2d", "mask", "grasp", "right", "K_assumed")
    print(f"read {stats['read']} samples: " + ", ".join(f"{k} {stats.get(k, 0)}" for k in keys))
    if problems:
        print(f"{len(problems)} problem(s); the first {min(len(problems), SHOWN_PROBLEMS)}:")
        for msg in problems[:SHOWN_PROBLEMS]:
            print(f"  {msg}")
        return 1
    print("no problem found")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
