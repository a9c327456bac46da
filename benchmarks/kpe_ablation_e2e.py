"""KPE ablation end to end (paper Sec. 4.3, Tab. 3): WildHands (sparse KPE) vs HandNet (no KPE), each
trained from scratch with the project's trainer for the same number of steps, batch, learning rate and
seed, then scored on held-out synthetic frames with ground-truth boxes (``wildhands-eval``'s metrics:
root-relative MPJPE, PA-MPJPE, MRRPE in mm, 2D error in px on the 224 crop).

    scripts/wh python benchmarks/kpe_ablation_e2e.py --train DIR --test DIR [--steps 1000] [--out runs/kpe]

Both variants use ``training/configs/demo_model.yaml`` (MobileNetV3-small trunks, narrow heads) with only
``model.variant`` changed, so the comparison isolates KPE. ``--train``: a ``wildhands-synth`` set (e.g. the
demo's 8000 frames, seed 1); ``--test``: another seed (e.g. ``--frames 100 --seed 777 --size 640x480``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from training.config import load_train_config
from training.datasets.synthetic import SyntheticHandsDataset
from training.evaluate import evaluate_checkpoint
from training.trainer import Trainer
from wildhands_core.metrics import format_results_table

VARIANTS = ("wildhands", "handnet")


def train_variant(variant: str, train_root: str, out: Path, steps: int, overrides: list[str]) -> Path:
    cfg = load_train_config("training/configs/demo_model.yaml", [
        f"model.variant={variant}", f"data.datasets.0.root={train_root}", f"optim.max_steps={steps}",
        f"log.out_dir={out / variant}", "log.ckpt_every=0", "log.image_every=0", *overrides,
    ])
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    trainer.fit()
    trainer.close()
    print(f"{variant}: {steps} steps in {time.perf_counter() - t0:.0f} s", flush=True)
    return out / variant / "last.pt"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--test-frames", type=int, default=100)
    ap.add_argument("--out", default="runs/kpe_ablation")
    ap.add_argument("overrides", nargs="*", help="extra dotted config overrides for both variants")
    a = ap.parse_args(argv)
    out = Path(a.out)
    test = SyntheticHandsDataset(a.test)
    results = {}
    for variant in VARIANTS:
        ckpt = out / variant / "last.pt"
        if not ckpt.exists():  # resumable: a finished variant is not trained again
            ckpt = train_variant(variant, a.train, out, a.steps, a.overrides)
        scores = evaluate_checkpoint(ckpt, {"synthetic": test}, max_frames=a.test_frames)
        results[variant] = scores["synthetic"]
    print(f"\nKPE ablation, end to end: {a.steps} steps each from scratch, same seed and batch; "
          f"{a.test_frames} held-out frames, ground-truth boxes")
    print(format_results_table({f"{v} ({'KPE' if v == 'wildhands' else 'no KPE'})": r
                                for v, r in results.items()}))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
