"""The project's loss normalisation vs the authors' on the synthetic set, side by side.

project: kp2d normalised to the crop, mask L2 in the crop, each term / the hands with its label;
authors: kp2d normalised to the letterboxed whole 224 image, mask L1 over the whole 224 frame, each term /
every hand of the batch (``training/configs/train_paper.yaml``). Same tiny network, seed, steps and
frames; both are scored with the paper's metrics (``training.evaluate``) on the frames they were fitted
on: this compares how fast each normalisation fits (its effective term weights differ), not how well it
generalises.

    python benchmarks/loss_normalisation.py [--frames 2] [--steps 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "training"))

VARIANTS = {
    "project": (),
    "authors": ("loss.kp2d_frame=whole224", "loss.mask_frame=whole224", "loss.mask_error=l1",
                "loss.reduction=batch_mean"),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args()
    from train_helpers import make_synth, tiny_train_config

    from training.datasets.synthetic import SyntheticHandsDataset
    from training.evaluate import evaluate_dataset, make_estimator
    from training.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        root = make_synth(Path(tmp) / "synth", frames=args.frames)
        common = ("optim.batch_size=2", f"optim.max_steps={args.steps}", "optim.lr=1e-3", "loss.mask_size=32")
        print(f"{args.frames} synthetic frames, {args.steps} steps, tiny resnet18 network "
              "(fit, not generalisation)")
        print(f"{'variant':<9}{'MPJPE mm':>10}{'PA-MPJPE mm':>13}{'2D L2 224 px':>14}{'time s':>8}")
        for name, extra in VARIANTS.items():
            t = time.perf_counter()
            out = Path(tmp) / name
            Trainer(tiny_train_config(root, out, *common, *extra), verbose=False).fit()
            r = evaluate_dataset(make_estimator(out / "last.pt", 1.5), SyntheticHandsDataset(root))
            print(f"{name:<9}{r['mpjpe_mm']:>10.1f}{r['pa_mpjpe_mm']:>13.1f}{r['kp2d_l2_224px']:>14.2f}"
                  f"{time.perf_counter() - t:>8.0f}")


if __name__ == "__main__":
    main()
