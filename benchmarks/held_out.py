"""The held-out demo sequence for the offline benchmarks: rendered frames, their truth, ground-truth boxes and
the per-side "published" dicts that ``wildhands_ros.demo.report.compute_metrics`` scores."""

from __future__ import annotations

import argparse

import numpy as np

from wildhands_core.estimate import HandBox, HandEstimate
from wildhands_core.handedness import Handedness
from wildhands_synth.sequence import DEMO_SEED, SyntheticSequence


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser with ``--frames``, ``--size WxH`` and ``--json``, the options of every held-out benchmark."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--size", default="640x480", help="image size WxH, pixels")
    ap.add_argument("--json", default=None, help="write the figures to this file")
    ap.add_argument("--seed", type=int, default=DEMO_SEED,
                    help=f"sequence seed ({DEMO_SEED}: the demo's held-out sequence)")
    return ap


def parse_size(text: str) -> tuple[int, int]:
    w, h = (int(v) for v in text.split("x"))
    return w, h


def render(frames: int, size: tuple[int, int], seed: int | None = None
           ) -> tuple[SyntheticSequence, list, dict[str, np.ndarray]]:
    """The sequence (``seed``, default the demo's), its first ``frames`` rendered frames and their stacked
    labels (the truth)."""
    seq = SyntheticSequence(DEMO_SEED if seed is None else seed, size, threads=1)
    rendered = list(seq.frames(frames))
    truth = {k: np.stack([f.labels[k] for f in rendered]) for k in rendered[0].labels}
    return seq, rendered, truth


def truth_boxes(truth: dict[str, np.ndarray], i: int) -> list[HandBox]:
    """The true boxes of frame ``i`` (label index 0 = right, 1 = left)."""
    return [HandBox(truth["box_xyxy_px"][i, s], s == 0) for s in (0, 1) if truth["present"][i, s]]


def as_published(ests: list[HandEstimate]) -> dict:
    """The most confident estimate per side as ``{"right"|"left": {"joints_m", "keypoints_px"}}``."""
    out: dict = {}
    for e in sorted(ests, key=lambda e: -e.confidence):
        side = Handedness.of(e.is_right).label
        out.setdefault(side, {"joints_m": e.joints_m, "keypoints_px": e.keypoints_px})
    return out
