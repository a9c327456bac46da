"""Network initialisation for training: copy matching tensors from a torchvision ResNet, a project
checkpoint or a released checkpoint (``initialise_from``), and freeze parameters by name prefix
(``freeze_by_prefix``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from wildhands_core.checkpoint import released_to_project_state_dict, upgrade_state_dict


def _looks_like_torchvision_resnet(sd: dict[str, Any]) -> bool:
    return "conv1.weight" in sd and any(k.startswith("layer1.") for k in sd)


def initialise_from(net: torch.nn.Module, path: str | Path) -> dict[str, list[str]]:
    """Copy into ``net`` (a ``WildHandsNet``) every tensor of ``path`` whose name and shape fit.

    ``path``: a torchvision ResNet state dict (ImageNet; copied into ``backbone`` and ``hand_backbone``,
    ``fc`` dropped), a project checkpoint, or a released Lightning checkpoint (e.g. ArcticNet-SF: its trunk
    and heads are copied, the differently shaped fusion layers are skipped).
    Returns {"loaded": [...], "skipped": [...]} (names in the file).
    """
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and obj.get("format") == "wildhands":
        # format version 1 files: HMR refine weights in the old estimate order (as load_checkpoint does)
        sd = upgrade_state_dict(obj["state_dict"], int(obj.get("version", 1)))
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        sd = released_to_project_state_dict(obj["state_dict"])[0]
    elif isinstance(obj, dict) and _looks_like_torchvision_resnet(obj):
        sd = {}
        for prefix in ("backbone.", "hand_backbone."):
            sd.update({prefix + k: v for k, v in obj.items() if not k.startswith("fc.")})
    elif isinstance(obj, dict):
        sd = obj
    else:
        raise ValueError(f"{path}: not a state dict or checkpoint")
    own = net.state_dict()
    fit = {k: v for k, v in sd.items() if k in own and torch.is_tensor(v) and v.shape == own[k].shape}
    net.load_state_dict(fit, strict=False)
    return {"loaded": sorted(fit), "skipped": sorted(set(sd) - set(fit))}


def freeze_by_prefix(net: torch.nn.Module, prefixes: tuple[str, ...] | list[str]) -> list[torch.nn.Module]:
    """Switch off the gradient of every parameter of ``net`` whose name starts with one of ``prefixes``;
    returns the BatchNorm modules under them (to be kept in eval mode). A prefix matching nothing raises."""
    prefixes = tuple(prefixes)
    if not prefixes:
        return []
    names = [n for n, _ in net.named_parameters()]
    unused = [p for p in prefixes if not any(n.startswith(p) for n in names)]
    if unused:
        raise ValueError(f"optim.freeze_prefixes match no parameter: {unused}")
    for name, p in net.named_parameters():
        if name.startswith(prefixes):
            p.requires_grad_(False)
    return [m for name, m in net.named_modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and (name + ".").startswith(prefixes)]
