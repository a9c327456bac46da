"""Dataset adapters: one per published dataset, each yielding ``training.sample.HandSample``.

``DATASETS`` maps a dataset name (``HandSample.dataset``) to its adapter class, ``dataset_registry()`` adds
the synthetic set; ``build_dataset(name, root, kwargs, mano_dir)`` constructs one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from training.datasets.arctic import ArcticEgoDataset
from training.datasets.assemblyhands import AssemblyHandsDataset
from training.datasets.base import DatasetFileError, DatasetFormatError, HandDataset
from training.datasets.ego4d_grasp import Ego4DGraspDataset
from training.datasets.egoexo4d_hands import EgoExo4DHandsDataset
from training.datasets.epic_handkps import EpicHandKpsDataset
from training.datasets.epic_visor import EpicVisorDataset
from training.datasets.h2o import H2ODataset
from training.datasets.hands23 import Hands23Dataset

if TYPE_CHECKING:
    from training.config import TrainConfig

DATASETS: dict[str, type[HandDataset]] = {
    cls.name: cls
    for cls in (
        ArcticEgoDataset,
        AssemblyHandsDataset,
        EpicVisorDataset,
        Ego4DGraspDataset,
        Hands23Dataset,
        H2ODataset,
        EpicHandKpsDataset,
        EgoExo4DHandsDataset,
    )
}


def dataset_registry() -> dict[str, type]:
    """Adapter classes by name: ``DATASETS`` plus the synthetic set (``training.datasets.synthetic``)."""
    from training.datasets.synthetic import SyntheticHandsDataset

    return {**DATASETS, SyntheticHandsDataset.name: SyntheticHandsDataset}


def build_dataset(
    name: str, root: str | Path, kwargs: dict | None = None, mano_dir: str | None = None
) -> HandDataset:
    """The adapter registered as ``name`` (a key of ``dataset_registry()``) on ``root`` with ``kwargs``;
    adapters needing a ``mano_fn`` (ARCTIC) get one built on ``wildhands_core``'s MANO layer from
    ``mano_dir`` (None = the default lookup). An unknown name raises ``KeyError`` listing the known ones."""
    import inspect

    registry = dataset_registry()
    if name not in registry:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(registry)}")
    cls = registry[name]
    kwargs = dict(kwargs or {})
    if "mano_fn" in inspect.signature(cls.__init__).parameters and "mano_fn" not in kwargs:
        from training.datasets.arctic import make_mano_fn

        kwargs["mano_fn"] = make_mano_fn(mano_dir)
    return cls(root=root, **kwargs)


def build_datasets(cfg: TrainConfig) -> list[HandDataset]:
    """The adapters of ``cfg.data.datasets`` (``root`` + ``kwargs``), in order."""
    return [build_dataset(s.name, s.root, s.kwargs, cfg.mano_dir) for s in cfg.data.datasets]


__all__ = [
    "DATASETS",
    "ArcticEgoDataset",
    "AssemblyHandsDataset",
    "DatasetFileError",
    "DatasetFormatError",
    "Ego4DGraspDataset",
    "EgoExo4DHandsDataset",
    "EpicHandKpsDataset",
    "EpicVisorDataset",
    "H2ODataset",
    "HandDataset",
    "Hands23Dataset",
    "build_dataset",
    "build_datasets",
    "dataset_registry",
]
