"""Saving and loading :class:`WildHandsNet` weights: the project format and the released Lightning checkpoint.

Project format (``torch.save`` of a plain dict, read back with ``torch.load(weights_only=True)``)::

    {"format": "wildhands", "version": 2, "model_config": ModelConfig as a dict (incl. input_convention),
     "state_dict": WildHandsNet.state_dict(), "training": {...}  # optional}

Version 1 files (before the release's estimate order was known) still load: the HMR heads' ``refine``
input columns are permuted from their order (pose_6d, cam_t/wp, shape) to the release's (pose_6d, shape,
cam_t/wp), which gives the same network function, and their ``input_convention`` is ``wildhands_v1``
(how they were trained). Version 2 files record the order and the convention they were written with.

Released format (PyTorch Lightning, authors' release): the weights are ``ckpt["state_dict"]`` with a
``model.`` prefix on the network's keys (``model.backbone.*``, ``model.head_r.*``, ...), plus MANO copies
(``mano_r.*``, ``mano_l.*``, ``model.mano_r.mano.*``, ``model.mano_l.mano.*``) and training-only heads
(``model.head_o.*``, ``model.arti_head.*``), which are ignored; ``model.grasp_classifier.*`` is kept and
becomes the grasp head. Everything else must fit the network exactly (strict), or
:class:`CheckpointMismatchError` names the offending keys. The MANO copies are returned (``meta["mano"]``)
so that the model can use the MANO it was trained with when no MANO files are configured. A released file
is prepared by the release's convention (``input_convention="release"``).

Loading never runs code from the file: ``torch.load(weights_only=True)`` first, and for files that pickle
other objects (a real Lightning ``.ckpt``: hyper-parameters as an EasyDict or argparse Namespace, loop and
callback states) the allow-list unpickler of :mod:`wildhands_core.safe_unpickle`; what it skipped is
listed in ``meta["skipped_objects"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from wildhands_core.config import ModelConfig
from wildhands_core.mano.checkpoint_buffers import mano_data_from_released
from wildhands_core.model.hmr_head import ESTIMATE_SPECS_V1, estimate_column_permutation
from wildhands_core.model.wildhands_net import WildHandsNet
from wildhands_core.safe_unpickle import find_skipped, torch_load_restricted

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
    "upgrade_state_dict",
]

FORMAT = "wildhands"
VERSION = 2
#: The HMR heads whose ``refine`` input order changed between format versions 1 and 2.
HEAD_NAMES = ("head_r", "head_l")

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


def _torch_load(path: str | Path, map_location: str | torch.device) -> tuple[Any, list[str]]:
    """-> (the loaded object, where it held skipped foreign objects); never runs code from the file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such checkpoint file: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True), []
    except Exception as exc:  # the weights-only unpickler raises many kinds on foreign objects
        first = exc
    try:
        obj, _ = torch_load_restricted(path, map_location)
    except Exception as exc:  # anything unreadable is "not a checkpoint"
        raise CheckpointFormatError(f"{path}: not a readable torch checkpoint ({first}; {exc})") from exc
    return obj, find_skipped(obj)


def upgrade_state_dict(state_dict: dict[str, torch.Tensor], version: int) -> dict[str, torch.Tensor]:
    """A project state dict of format ``version`` -> the current format (a new dict; tensors shared
    except those changed). Version 1 -> 2: permute each head's ``refine.0.weight`` input columns from the
    estimate order (pose_6d, cam_t/wp, shape) to the release's (pose_6d, shape, cam_t/wp)."""
    out = dict(state_dict)
    if version >= 2:
        return out
    for head in HEAD_NAMES:
        key = f"{head}.hmr_layer.refine.0.weight"
        if key in out:
            w = out[key]
            feat_dim = w.shape[1] - sum(size for _, size in ESTIMATE_SPECS_V1)
            out[key] = w[:, estimate_column_permutation(feat_dim, ESTIMATE_SPECS_V1)].clone()
    return out


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
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise CheckpointFormatError(
            f"unsupported wildhands checkpoint version {version!r} (reads 1..{VERSION})"
        )
    try:
        model_config = dict(ckpt["model_config"])
        if version == 1:  # trained before conventions were recorded: this project's own at the time
            model_config.setdefault("input_convention", "wildhands_v1")
        cfg = ModelConfig.from_dict(model_config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointFormatError(f"bad model_config in checkpoint: {exc}") from exc
    net = WildHandsNet(cfg)
    load_state_dict_strict(net, upgrade_state_dict(ckpt["state_dict"], version))
    meta = {"format": "project", "version": version, "training": ckpt.get("training")}
    return net, cfg, meta


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    """Read a project checkpoint -> (network in eval mode, its config, meta = {format, version, training})."""
    ckpt, _ = _torch_load(path, map_location)
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
) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    """Load the authors' released checkpoint (a path, the loaded dict, or its bare ``state_dict``).

    The config defaults to the release's (:class:`ModelConfig` defaults), with ``grasp_head`` switched on
    iff the file holds ``grasp_classifier`` weights. Loading is strict (see the module docstring).
    Returns (network in eval mode, config, meta = {format: "released", ignored: [keys], mano: {"right":
    MANO data, "left": ...} or None, skipped_objects: [where foreign pickled objects were skipped]}).
    """
    skipped: list[str] = []
    if isinstance(path_or_dict, dict):
        ckpt = path_or_dict
    else:
        ckpt, skipped = _torch_load(path_or_dict, map_location)
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
    meta = {"format": "released", "ignored": ignored, "mano": mano_data_from_released(released),
            "skipped_objects": skipped}
    return net.eval(), cfg, meta


def load_any_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[WildHandsNet, ModelConfig, dict[str, Any]]:
    """Project or released checkpoint, detected from the content; meta["format"] says which."""
    ckpt, skipped = _torch_load(path, map_location)
    if isinstance(ckpt, dict) and ckpt.get("format") == FORMAT:
        net, cfg, meta = _from_project_dict(ckpt)
        return net.eval(), cfg, meta
    if isinstance(ckpt, dict) and isinstance(ckpt.get("state_dict"), dict):
        net, cfg, meta = load_released_checkpoint(ckpt, map_location)
        meta["skipped_objects"] = skipped
        return net, cfg, meta
    raise CheckpointFormatError(f"{path}: neither a wildhands project checkpoint nor a Lightning checkpoint")
