"""Typed configuration: the network's :class:`ModelConfig` and generic dataclass <-> YAML helpers.

Other parts of the project define their own config dataclasses in their own files and use
:func:`dataclass_from_dict` (THE dict/YAML -> dataclass loader: unknown keys are refused by name, nested
dataclasses and lists of them are built), :func:`load_yaml_config` and :func:`save_yaml_config` from here.
Runtime settings document themselves with :func:`setting` (a dataclass field whose metadata holds its
description and its range or choices); :func:`settings_of` lists them (the ROS parameter table is built
from it).
Defaults of :class:`ModelConfig` reproduce the released WildHands network exactly (69,182,816 learnable
parameters without the grasp head).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from wildhands_core.camera import LETTERBOX_CONVENTIONS

__all__ = [
    "BACKBONES",
    "INPUT_CONVENTIONS",
    "KPE_FORMS",
    "VARIANTS",
    "ModelConfig",
    "Setting",
    "dataclass_from_dict",
    "dataclass_to_dict",
    "described",
    "load_yaml_config",
    "save_yaml_config",
    "setting",
    "settings_of",
]

#: Network variants of the paper's ablations (Sec. 4, Tab. 3-4).
VARIANTS = ("wildhands", "handnet", "kpe_input", "arcticnet_sf")
#: KPE forms (Sec. 3.2 and the KPE ablation).
KPE_FORMS = ("sparse", "dense", "none_intrinsics")
#: Image trunks (backbone ablation).
BACKBONES = (
    "resnet50", "resnet34", "resnet18", "vit_b_16", "mobilenet_v3_small", "mobilenet_v3_large",
    "efficientnet_lite0",
)

#: How the network's inputs are prepared (``wildhands_core.preprocess``); one per checkpoint, recorded in it:
#: - ``release``: the authors' release: whole image blurred (5x5 Gaussian, sigma 8) at full resolution and
#:   resized bicubically with ``u' = (u - W/2) 224/L + 112``; crops cut unclipped from the 224 image (zero
#:   padding), only the KPE box clipped to [0, 223];
#: - ``wildhands_v1``: this project's checkpoints of format version 1: whole image area-shrunk and
#:   bilinearly placed with ``u' = 224/L (u + pad + 0.5) - 0.5`` (image centred with whole-pixel padding);
#:   crops clipped to the 224 image and stretched, the KPE box = the clipped crop.
INPUT_CONVENTIONS = LETTERBOX_CONVENTIONS

T = TypeVar("T")


@dataclass
class ModelConfig:
    """Architecture of :class:`wildhands_core.model.WildHandsNet`; defaults = the released model.

    Variants:
    - ``wildhands``: crop trunk + whole-image trunk (summed) + KPE at the feature map (released).
    - ``handnet``: the same without KPE (paper's HandNet baseline; whole image per ``use_whole_image``).
    - ``kpe_input``: KPE at the INPUT: the KPE map (sparse: 80 channels broadcast, dense: 4L channels) at
      224x224 is concatenated to the RGB crop and a 1x1 conv adapter (3 + C -> 3, initialised to pass RGB
      through and ignore the KPE) feeds the unchanged trunk; no KPE at the feature map.
    - ``arcticnet_sf``: whole image only (ArcticNet-SF, ARCTIC CVPR 2023): no crop trunk, no KPE; each hand
      uses its frame's features and its side's head.
    """

    # Variant and inputs (paper Sec. 3, ablations Sec. 4.3).
    variant: str = "wildhands"
    kpe: str = "sparse"  # Sec. 3.2: sparse KPE of the crop centre and corners (release)
    kpe_num_freqs: int = 4  # Sec. 3.2 / release: L = 4 frequencies
    dense_kpe_grid: int = 28  # dense KPE: sample points per side before pooling to the feature map
    use_whole_image: bool = True  # Sec. 3.1: whole-image features summed with the crop features
    # Trunks (Sec. 3.1: two ResNet-50, ImageNet-initialised in the paper).
    backbone: str = "resnet50"
    backbone_weights: str | None = None  # torchvision weights name, e.g. "IMAGENET1K_V1"; None = random
    # The whole-image trunk when it differs from the crop trunk (None = ``backbone``); a 1x1 convolution
    # projects its features to the crop trunk's width when the widths differ.
    image_backbone: str | None = None
    image_backbone_weights: str | None = None  # as ``backbone_weights``, for ``image_backbone``
    # Feature fusion (release: 1x1 then two 3x3 convs, then a linear layer).
    conv_dims: tuple[int, int, int] = (1024, 512, 256)
    fc_dim: int = 2048
    # HMR-style iterative head (Sec. 3.1, as in ARCTIC/HMR).
    head_hidden: int = 1024
    cam_init_hidden: int = 512
    iterations: int = 3  # release: 3 refinement iterations
    dropout: float = 0.5  # not stated in the reference; 0.5 = torch's default Dropout, HMR's value
    # Grasp classifier (Sec. 3.3, trained with the grasp loss on EPIC/Ego4D; not in the inference state dict).
    grasp_head: bool = False
    grasp_hidden: tuple[int, ...] = (1024, 512, 128)  # release; the paper's text says 1024-1024-512-128
    # Side classifier (project option, not in the paper or the release): P(right hand) from the crop trunk's
    # 7x7 features, which the tracker votes with (``tracking.estimate_side_weight``). On the demo's cached
    # Lite0 features: 95.1 % of held-out hands right (models/demo/README.md); a pooled linear probe 57 %.
    side_head: bool = False
    side_conv_dims: tuple[int, int] = (128, 64)  # 1x1 conv, then 3x3 conv, on the 7x7 crop features
    side_hidden: int = 128  # the hidden layer of the classifier after the convolutions
    # Input preparation the weights were trained with (see INPUT_CONVENTIONS).
    input_convention: str = "release"

    def __post_init__(self) -> None:
        self.conv_dims = tuple(int(c) for c in self.conv_dims)  # type: ignore[assignment]
        self.grasp_hidden = tuple(int(c) for c in self.grasp_hidden)
        self.side_conv_dims = tuple(int(c) for c in self.side_conv_dims)  # type: ignore[assignment]
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.kpe not in KPE_FORMS:
            raise ValueError(f"kpe must be one of {KPE_FORMS}, got {self.kpe!r}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.input_convention not in INPUT_CONVENTIONS:
            raise ValueError(
                f"input_convention must be one of {INPUT_CONVENTIONS}, got {self.input_convention!r}"
            )
        if self.image_backbone is not None and self.image_backbone not in BACKBONES:
            raise ValueError(f"image_backbone must be one of {BACKBONES} or None, "
                             f"got {self.image_backbone!r}")
        if len(self.conv_dims) != 3:
            raise ValueError(f"conv_dims must have 3 entries, got {self.conv_dims}")
        if self.iterations < 1:
            raise ValueError("iterations must be >= 1")
        if len(self.side_conv_dims) != 2:
            raise ValueError(f"side_conv_dims must have 2 entries, got {self.side_conv_dims}")
        if self.side_head and not self.uses_crops:
            raise ValueError("side_head reads the crop trunk's features; variant arcticnet_sf has none")
        if self.variant == "arcticnet_sf" and not self.use_whole_image:
            raise ValueError("arcticnet_sf uses the whole image only; use_whole_image must be True")

    @property
    def uses_crops(self) -> bool:
        return self.variant != "arcticnet_sf"

    @property
    def kpe_at_features(self) -> bool:
        return self.variant == "wildhands"

    @property
    def kpe_at_input(self) -> bool:
        return self.variant == "kpe_input"

    def to_dict(self) -> dict[str, Any]:
        return dataclass_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return dataclass_from_dict(cls, data)


def dataclass_to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass instance -> plain dict of YAML-friendly values (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(obj)


def _convert(tp: Any, value: Any, where: str) -> Any:
    """Convert a YAML value to the annotated field type (nested dataclasses, lists/tuples of them, tuples)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return _from_dict(tp, value, where)
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        item = args[0] if len(set(args)) == 1 else None
        items = [_convert(item, v, f"{where}[{i}]") if item is not None else v for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return _from_dict(arg, value, where)
            if typing.get_origin(arg) in (tuple, list) and isinstance(value, (list, tuple)):
                return _convert(arg, value, where)
    return value


def _from_dict(cls: type[T], data: dict[str, Any] | None, where: str) -> T:
    data = dict(data or {})
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names), key=str)
    if unknown:
        at = f" (at {where})" if where else ""
        raise ValueError(f"unknown {cls.__name__} keys {unknown}{at}; known: {sorted(names)}")
    prefix = f"{where}." if where else ""
    return cls(**{k: _convert(hints[k], v, f"{prefix}{k}") for k, v in data.items()})


def dataclass_from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
    """Build dataclass ``cls`` from a dict (e.g. YAML); missing keys take their defaults.

    Nested dataclass fields (also in lists/tuples and ``X | None``) are built from nested dicts and lists
    become tuples where the field is a tuple. An unknown key raises ``ValueError`` naming it and where it
    is (``unknown OneEuroParams keys ['betaa'] (at joints)``)."""
    return _from_dict(cls, data, "")


def load_yaml_config(path: str | Path, cls: type[T], section: str | None = None) -> T:
    """Read ``path`` (YAML) and build ``cls`` from the whole document or from its ``section`` key."""
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f) or {}
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    if section is not None:
        doc = doc.get(section) or {}
    return dataclass_from_dict(cls, doc)


def save_yaml_config(path: str | Path, obj: Any, section: str | None = None) -> None:
    """Write dataclass ``obj`` to ``path`` as YAML (under ``section`` if given)."""
    data = dataclass_to_dict(obj)
    if section is not None:
        data = {section: data}
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, sort_keys=False)



def described(
    description: str,
    *,
    range: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Field metadata read by :func:`settings_of`: ``description``, the optional inclusive numeric ``range``
    (lo, hi) or string ``choices``. For ``field(default_factory=..., metadata=described(...))`` (e.g. a
    field holding a config dataclass, whose own documented fields are then listed under its name); plain
    defaults use :func:`setting`."""
    meta: dict[str, Any] = {"description": description}
    if range is not None:
        meta["range"] = range
    if choices is not None:
        meta["choices"] = tuple(choices)
    return meta


def setting(
    default: Any,
    *,
    description: str,
    range: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A dataclass field with an immutable ``default`` that documents itself (:func:`described`)."""
    return dataclasses.field(default=default, metadata=described(description, range=range, choices=choices))


@dataclass(frozen=True)
class Setting:
    """One documented field of a config dataclass: dotted ``name`` (nested dataclasses joined by "."),
    its default, description, optional range (lo, hi) or choices."""

    name: str
    default: Any
    description: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise ValueError(f"field {f.name!r} has no default")


def _settings(cls: type, values: Any, prefix: str) -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for f in dataclasses.fields(cls):
        if "description" not in f.metadata:
            continue
        name, desc = f"{prefix}{f.name}", f.metadata["description"]
        value = _field_default(f) if values is None else getattr(values, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            inner = _settings(type(value), value, f"{name}.")
            for s in inner.values():
                out[s.name] = dataclasses.replace(s, description=f"{desc}: {s.description}")
            continue
        out[name] = Setting(name, value, desc, f.metadata.get("range"), f.metadata.get("choices"))
    return out


def settings_of(cls: type, prefix: str = "") -> dict[str, Setting]:
    """The fields of dataclass ``cls`` documented with :func:`setting` / :func:`described`, by dotted
    name, with their defaults (read from the fields: ``cls`` is not instantiated, so a config with a
    required value works too); a field holding a dataclass is expanded into that one's settings
    (``joints.min_cutoff``), their descriptions prefixed with the field's (``"joints: minimum cut-off
    (Hz)"``)."""
    return _settings(cls, None, prefix)
