"""Dataset adapters: one per published dataset, each yielding ``training.sample.HandSample``.

``DATASETS`` maps a dataset name (``HandSample.dataset``) to its adapter class; ``build_dataset(name, **kw)``
constructs one.
"""

from __future__ import annotations

from training.datasets.arctic import ArcticEgoDataset
from training.datasets.assemblyhands import AssemblyHandsDataset
from training.datasets.base import DatasetFileError, DatasetFormatError, HandDataset
from training.datasets.ego4d_grasp import Ego4DGraspDataset
from training.datasets.egoexo4d_hands import EgoExo4DHandsDataset
from training.datasets.epic_handkps import EpicHandKpsDataset
from training.datasets.epic_visor import EpicVisorDataset
from training.datasets.h2o import H2ODataset
from training.datasets.hands23 import Hands23Dataset

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


def build_dataset(name: str, **kwargs) -> HandDataset:
    """Construct the adapter registered as ``name`` (a key of ``DATASETS``) with ``kwargs``."""
    try:
        cls = DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}") from None
    return cls(**kwargs)


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
]
