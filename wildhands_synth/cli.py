"""``wildhands-synth``: write a synthetic egocentric hand dataset (see ``wildhands_synth.generate``).

    wildhands-synth --out DIR --frames N --seed S [--size WxH] [--sequence [--sequences K] [--stride T]]
        [--workers K] [--mano-dir D] [--p-no-hands P] [--p-touching P] [--max-distractors N]

``--sequence`` writes consecutive frames of one smooth 30 Hz two-hand sequence
(``wildhands_synth.sequence``) instead of independent random frames; the on-disk format is the same,
``meta.json`` then also holds ``"sequence": true`` and ``"fps"``. With ``--sequences K`` and/or
``--stride T`` it writes frames 0, T, 2T, ... (N of them) of each of the K sequences of seeds S .. S+K-1,
one after the other (training data shaped like the demo streams: moving, touching, interlaced hands);
``meta.json`` then has ``"sequence": false`` and ``"sequence_seeds"``, ``"sequence_stride"``,
``"frames_per_sequence"``. Hard negatives for detector training (random frames only;
``wildhands_synth.distractors``): ``--p-no-hands`` hand-free frames, ``--p-touching`` two-hand frames
whose hands touch or overlap, ``--max-distractors`` hand-sized dark / skin-coloured shapes in the
background.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x240, got {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"size too small: {text!r}")
    return w, h


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wildhands-synth", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, type=Path, help="output directory (created)")
    p.add_argument("--frames", required=True, type=int, help="number of frames")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed -> same dataset)")
    p.add_argument("--size", type=_size, default=(320, 240), help="image size WxH in pixels (320x240)")
    p.add_argument("--sequence", action="store_true", help="one smooth 30 Hz sequence, not random frames")
    p.add_argument("--sequences", type=int, default=1,
                   help="with --sequence: this many sequences, seeds SEED, SEED+1, ... (--frames each)")
    p.add_argument("--stride", type=int, default=1, help="with --sequence: every T-th frame of each sequence")
    p.add_argument("--workers", type=int, default=1, help="processes for random frames (output unchanged)")
    p.add_argument("--mano-dir", default=None, help="MANO_RIGHT/LEFT.pkl directory (default: see ManoLayer)")
    p.add_argument("--p-no-hands", type=float, default=0.0,
                   help="fraction of hand-free frames (detector data)")
    p.add_argument("--p-touching", type=float, default=0.0,
                   help="fraction of two-hand frames whose hands touch or overlap (detector data)")
    p.add_argument("--max-distractors", type=int, default=0,
                   help="hand-sized dark / skin-coloured shapes per frame, 0..N (detector data)")
    return p


def write_sequence(
    out: Path, frames: int, seed: int, size: tuple[int, int], mano_dir: str | None, sequences: int = 1,
    stride: int = 1,
) -> None:
    """Frames 0, stride, ..., (frames - 1) x stride of ``SyntheticSequence(seed + k)`` for k < ``sequences``,
    in the dataset format (``sequences * frames`` frames, numbered in that order)."""
    from tqdm import tqdm

    from wildhands_synth.generate import LABEL_KEYS, meta_dict, write_frame_files
    from wildhands_synth.hands import load_hand_models
    from wildhands_synth.sequence import SyntheticSequence

    if sequences < 1 or stride < 1:
        raise ValueError(f"sequences and stride must be >= 1, got {sequences} and {stride}")
    models = load_hand_models(mano_dir)  # once for all the sequences
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    labels = []
    bar = tqdm(total=frames * sequences, unit="frame", desc="wildhands-synth")
    for k in range(sequences):
        seq = SyntheticSequence(seed + k, size, models=models, threads=1)
        for j in range(frames):
            frame = seq.frame(j * stride)
            write_frame_files(out, len(labels), frame)
            labels.append(frame.labels)
            bar.update(1)
    bar.close()
    with open(out / "labels.npz", "wb") as fh:
        np.savez(fh, **{k: np.stack([lab[k] for lab in labels]) for k in LABEL_KEYS})
    meta = meta_dict(seed, len(labels), size[0], size[1]) | {"fps": seq.fps}
    if sequences == 1 and stride == 1:
        meta["sequence"] = True
    else:
        meta |= {"sequence": False, "sequence_seeds": [seed, seed + sequences - 1], "sequence_stride": stride,
                 "frames_per_sequence": frames}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.frames < 1:
        print("wildhands-synth: --frames must be >= 1")
        return 2
    start = time.perf_counter()
    if args.sequence:
        if args.sequences < 1 or args.stride < 1:
            print("wildhands-synth: --sequences and --stride must be >= 1")
            return 2
        write_sequence(args.out, args.frames, args.seed, args.size, args.mano_dir, args.sequences,
                       args.stride)
    else:
        from wildhands_synth.generate import generate_dataset
        from wildhands_synth.scene import SceneConfig

        scene = SceneConfig(p_no_hands=args.p_no_hands, p_touching=args.p_touching,
                            max_distractors=args.max_distractors)
        generate_dataset(
            args.out, args.frames, args.seed, args.size, workers=args.workers, mano_dir=args.mano_dir,
            scene=scene,
        )
    elapsed = time.perf_counter() - start
    written = args.frames * (args.sequences if args.sequence else 1)
    rate = written / elapsed
    print(f"wrote {written} frames to {args.out} in {elapsed:.1f} s ({rate:.1f} frames/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
