"""KPE ablation on synthetic data (paper Sec. 4.3, Tab. 3): WildHands (sparse KPE) vs HandNet (no KPE).

CPU-sized protocol (a proxy, stated in the output): both variants share ONE frozen, randomly initialised
resnet18 trunk whose crop and whole-image feature maps are computed once per hand (no augmentation); only
the fusion layers and the heads are trained, with the same steps, batch, learning rate and seed, on the
synthetic set's ARCTIC-like losses (θ, β, kp3d, kp2d, cam). The test frames are scored with the paper's
metrics (``wildhands_core.metrics``): root-relative MPJPE, PA-MPJPE and MRRPE, in mm.

    python benchmarks/kpe_ablation.py [--train-frames 120] [--test-frames 40] [--steps 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from training.batch import collate_frames
from training.config import AugmentConfig, LossConfig, LossWeights
from training.crops import prepare_frame
from training.datasets.synthetic import SyntheticHandsDataset
from training.losses import compute_losses
from training.sampler import frame_groups
from wildhands_core.config import ModelConfig
from wildhands_core.metrics import format_results_table, mpjpe_mm, mrrpe_mm, nanmean, pa_mpjpe_mm
from wildhands_core.model.backbones import build_backbone
from wildhands_core.model.wildhands import WildHands

WEIGHTS = {"synthetic": LossWeights(theta=10.0, betas=0.001, kp3d=5.0, kp2d=5.0, cam=1.0)}  # ARCTIC's


def cached_batches(root: Path, trunk: torch.nn.Module, frames_per_batch: int) -> list:
    """Prepared (unaugmented) batches with the trunk's feature maps in place of the images."""
    ds = SyntheticHandsDataset(root)
    groups = frame_groups(ds)
    out = []
    for i in range(0, len(groups), frames_per_batch):
        frames = [prepare_frame([ds[j] for j in g], AugmentConfig(), None, 28, "sample")
                  for g in groups[i : i + frames_per_batch]]
        b = collate_frames(frames, WEIGHTS, 28)
        with torch.no_grad():
            b.inputs["images"] = trunk(b.inputs["images"])
            b.inputs["crops"] = trunk(b.inputs["crops"])
        out.append(b)
    return out


def run_variant(variant: str, train: list, test: list, steps: int, lr: float, seed: int) -> dict[str, float]:
    torch.manual_seed(seed)
    cfg = ModelConfig(variant=variant, backbone="resnet18", conv_dims=(256, 256, 128), fc_dim=512,
                      head_hidden=512, cam_init_hidden=256, dropout=0.0)
    model = WildHands(cfg)
    model.net.backbone = torch.nn.Identity()  # features are precomputed by the shared frozen trunk
    model.net.hand_backbone = torch.nn.Identity()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        b = train[int(rng.integers(len(train)))]
        out = model(**b.inputs)
        loss, _ = compute_losses(out, b, model.mano_r.faces, model.mano_l.faces, LossConfig(mask_size=28))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    mp, pa, rr = [], [], []
    with torch.no_grad():
        for b in test:
            out = model(**b.inputs)
            pred, gt = out["joints_cam_m"].numpy(), b.labels["joints_cam_m"].numpy()
            mp += list(mpjpe_mm(pred, gt))
            pa += list(pa_mpjpe_mm(pred, gt))
            fi, right = b.inputs["frame_idx"].numpy(), b.inputs["is_right"].numpy()
            for f in np.unique(fi):
                r, l_ = np.nonzero((fi == f) & right)[0], np.nonzero((fi == f) & ~right)[0]
                if len(r) == 1 and len(l_) == 1:
                    rr.append(mrrpe_mm(pred[r], pred[l_], gt[r], gt[l_])[0])
    return {"mpjpe_mm": nanmean(mp), "pa_mpjpe_mm": nanmean(pa), "mrrpe_mm": nanmean(rr),
            "test_hands": float(len(mp)), "two_hand_frames": float(len(rr))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train-frames", type=int, default=120)
    p.add_argument("--test-frames", type=int, default=40)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=8, help="frames per step")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="directory for the generated sets (default: a temp dir)")
    a = p.parse_args()
    from wildhands_synth.generate import generate_dataset

    t0 = time.perf_counter()
    base = Path(a.data or tempfile.mkdtemp(prefix="kpe_ablation_"))
    train_root, test_root = base / "train", base / "test"
    if not (train_root / "labels.npz").exists():
        generate_dataset(train_root, a.train_frames, 1000 + a.seed, (320, 240), progress=False)
    if not (test_root / "labels.npz").exists():
        generate_dataset(test_root, a.test_frames, 2000 + a.seed, (320, 240), progress=False)
    torch.manual_seed(a.seed)
    trunk = build_backbone("resnet18").eval()
    train = cached_batches(train_root, trunk, a.batch)
    test = cached_batches(test_root, trunk, a.batch)
    t1 = time.perf_counter()
    results = {}
    for name, variant in (("WildHands (KPE)", "wildhands"), ("HandNet (no KPE)", "handnet")):
        results[name] = run_variant(variant, train, test, a.steps, a.lr, a.seed)
    t2 = time.perf_counter()
    print(f"KPE ablation, synthetic: {a.train_frames} train / {a.test_frames} test frames, {a.steps} steps x "
          f"{a.batch} frames, lr {a.lr}, frozen random resnet18 trunk (features cached), seed {a.seed}")
    cols = ["mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "test_hands", "two_hand_frames"]
    print(format_results_table(results, cols))
    print(f"data + features {t1 - t0:.0f} s, training + test {t2 - t1:.0f} s")


if __name__ == "__main__":
    main()
