"""Saving and loading :class:`WildHandsNet` weights: the project format and the released Lightning checkpoint.

Project format (``torch.save`` of a plain dict, read back with ``torch.load(weights_only=True)``)::

    {"format": "wildhands", "version": 1, "model_config": ModelConfig as a dict,
     "state_dict": WildHandsNet.state_dict(), "training": {...}  # optional}

Released format (PyTorch Lightning, authors' release): the weights are ``ckpt["state_dict"]`` with a
``model.`` prefix on the network's keys (``model.backbone.*``, ``model.head_r.*``, ...), plus MANO copies
(``mano_r.*``, ``mano_l.*``, ``model.mano_r.mano.*``, ``model.mano_l.mano.*``) and training-only heads
(``model.head_o.*``, ``model.arti_head.*``), which are ignored; ``model.grasp_classifier.*`` is kept and
becomes the grasp head. Everything else must fit the network exactly (strict), or
:class:`CheckpointMismatchError` names the offending keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from wildhands_core.config import ModelConfig
from wildhands_core.model.wildhands_net import WildHandsNet

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "CheckpointFormatError",
    "CheckpointMismatchError",
    "count_learnable_parameters",
    "load_any_checkpoint",
    "load_checkpoint",
    "load_released_checkpoint",
    "load_state_dict_strict",
    "released_to_project_state_dict",
    "save_checkpoint",
]

FORMAT = "wildhands"
VERSION = 1

#: Released key prefixes that are not learned weights of the inference network (MANO copies).
RELEASED_MANO_PREFIXES = ("mano_r.", "mano_l.", "model.mano_r.", "model.mano_l.")
#: Training-only heads of the release (object head, articulation head), dropped like the official demo does.
RELEASED_TRAINING_HEADS = ("head_o", "arti_head")
GRASP_PREFIX = "grasp_classifier."
#: Key names shown per category in a :class:`CheckpointMismatchError` message (the attributes hold all).
MAX_NAMES_IN_MESSAGE = 40


class CheckpointError(RuntimeError):
    """Base class of checkpoint problems."""


class CheckpointFormatError(CheckpointError):
    """The file is not a checkpoint this project can read (not a torch file, unknown layout, ...)."""


class CheckpointMismatchError(CheckpointError):
    """The weights do not fit the network; lists the offending key names.

    ``missing``: keys the network needs and the file lacks; ``unexpected``: keys in the file the network
    does not have; ``mismatched``: ``(key, expected_shape, file_shape)`` for keys whose shapes differ.
    """

    def __init__(
        self,
        missing: list[str],
        unexpected: list[str],
        mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    ) -> None:
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        self.mismatched = sorted(mismatched)
        lines = ["checkpoint does not fit the network:"]
        if self.missing:
            lines.append(f"  missing ({len(self.missing)}): " + _names(self.missing))
        if self.unexpected:
            lines.append(f"  unexpected ({len(self.unexpected)}): " + _names(self.unexpected))
        for key, want, got in self.mismatched[:MAX_NAMES_IN_MESSAGE]:
            lines.append(f"  shape mismatch: {key}: network {want}, file {got}")
        if len(self.mismatched) > MAX_NAMES_IN_MESSAGE:
            lines.append(f"  ... and {len(self.mismatched) - MAX_NAMES_IN_MESSAGE} more shape mismatches")
        super().__init__("\n".join(lines))


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_NAMES_IN_MESSAGE])
    more = len(keys) - MAX_NAMES_IN_MESSAGE
    return shown + (f", ... and {more} more" if more > 0 else "")


def count_learnable_parameters(module: nn.Module) -> int:
    """Number of learnable parameters (``requires_grad``); buffers (MANO, BN statistics) are not counted."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def load_state_dict_strict(net: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Load ``state_dict`` into ``net`` requiring exactly the same keys and shapes, else raise
    :class:`CheckpointMismatchError` naming every offending key."""
    own = net.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = []
    for k, v in state_dict.items():
        if k in own and (not isinstance(v, torch.Tensor) or tuple(v.shape) != tuple(own[k].shape)):
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else (type(v).__name__,)
            mismatched.append((k, tuple(own[k].shape), got))
    if missing or unexpected or mismatched:
        raise CheckpointMismatchError(missing, unexpected, mismatched)
    net.load_state_dict(state_dict, strict=True)


def _torch_load(path: str | Path, map_location: str | torch.device, allow_pickle: bool = False) -> Any:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such checkpoint file: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # the weights-only unpickler raises many kinds on foreign files
        if allow_pickle:
            try:
                return torch.load(path, map_location=map_location, weights_only=False)
            except Exception as exc2:  # anything unreadable is "not a checkpoint"
                raise CheckpointFormatError(f"{path}: not a readable torch checkpoint ({exc2})") from exc2
        hint = "" if allow_pickle else " (a released checkpoint with pickled objects needs allow_pickle=True)"
        raise CheckpointFormatError(f"{path}: not a readable torch checkpoint{hint}: {exc}") from exc


def save_checkpoint(
    path: str | Path, model: nn.Module, cfg: ModelConfig | None = None, extra: dict[str, Any] | None = None
) -> None:
    """Write the project format. ``model`` is a :class:`WildHandsNet` or anything with a ``.net`` one
    (the full :class:`WildHands`; MANO buffers are not saved). ``extra`` goes under ``"training"``
    (plain Python values and tensors only, so that ``weights_only`` loading works)."""
    net = model if isinstance(model, WildHandsNet) else model.net
    cfg = cfg or net.cfg
    ckpt: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
    }
    if extra is not None:
        ckpt["training"] = extra
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)


def _from_project_dict(ckpt: dict[str, Any]) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    version = ckpt.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointFormatError(f"unsupported wildhands checkpoint version {version!r} (reads {VERSION})")
    try:
        cfg = ModelConfig.from_dict(ckpt["model_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointFormatError(f"bad model_config in checkpoint: {exc}") from exc
    net = WildHandsNet(cfg)
    load_state_dict_strict(net, ckpt["state_dict"])
    meta = {"format": "project", "version": version, "training": ckpt.get("training")}
    return net, cfg, meta


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    """Read a project checkpoint -> (network in eval mode, its config, meta = {format, version, training})."""
    ckpt = _torch_load(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointFormatError(f"{path}: not a wildhands project checkpoint")
    net, cfg, meta = _from_project_dict(ckpt)
    return net.eval(), cfg, meta


def released_to_project_state_dict(
    released: dict[str, Any],
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Released Lightning ``state_dict`` -> (network state dict without ``model.``, ignored keys)."""
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    for key, value in released.items():
        if key.startswith(RELEASED_MANO_PREFIXES):
            ignored.append(key)
            continue
        name = key[len("model."):] if key.startswith("model.") else key
        if name.split(".", 1)[0] in RELEASED_TRAINING_HEADS:
            ignored.append(key)
            continue
        out[name] = value
    return out, ignored


def load_released_checkpoint(
    path_or_dict: str | Path | dict[str, Any],
    map_location: str | torch.device = "cpu",
    cfg: ModelConfig | None = None,
    allow_pickle: bool = False,
) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    """Load the authors' released checkpoint (a path, the loaded dict, or its bare ``state_dict``).

    The config defaults to the release's (:class:`ModelConfig` defaults), with ``grasp_head`` switched on
    iff the file holds ``grasp_classifier`` weights. Loading is strict (see the module docstring).
    ``allow_pickle`` lets ``torch.load`` unpickle arbitrary objects (only for files you trust).
    Returns (network in eval mode, config, meta = {format: "released", ignored: [keys]}).
    """
    if isinstance(path_or_dict, dict):
        ckpt = path_or_dict
    else:
        ckpt = _torch_load(path_or_dict, map_location, allow_pickle)
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError("not a checkpoint: expected a dict")
    released = ckpt.get("state_dict")
    if released is None and any(isinstance(k, str) and k.startswith("model.") for k in ckpt):
        released = ckpt  # a bare released state dict
    if not isinstance(released, dict) or not released or not all(isinstance(k, str) for k in released):
        raise CheckpointFormatError("not a released checkpoint: no state_dict of named tensors")
    state_dict, ignored = released_to_project_state_dict(released)
    if cfg is None:
        cfg = ModelConfig(grasp_head=any(k.startswith(GRASP_PREFIX) for k in state_dict))
    net = WildHandsNet(cfg)
    load_state_dict_strict(net, state_dict)
    return net.eval(), cfg, {"format": "released", "ignored": ignored}


def load_any_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", allow_pickle: bool = False
) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    """Project or released checkpoint, detected from the content; meta["format"] says which."""
    ckpt = _torch_load(path, map_location, allow_pickle)
    if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
        net, cfg, meta = _from_project_dict(ckpt)
        return net.eval(), cfg, meta
    if isinstance(ckpt, dict) and isinstance(ckpt.get("state_dict"), dict):
        return load_released_checkpoint(ckpt, map_location)
    raise CheckpointFormatError(f"{path}: neither a wildhands project checkpoint nor a Lightning checkpoint")
