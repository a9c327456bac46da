"""The batches of a training run as a function of the step: ``StepBatches[k]`` is this process's
:class:`~training.batch.Batch` of step k (``training.sampler`` picks the frames, ``training.crops`` cuts and
augments them with a per-frame seed), so a run is reproducible and resumable at any step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from training.batch import Batch, collate_frames
from training.config import LossWeights, TrainConfig, spec_augment
from training.crops import prepare_frame
from training.sampler import MixtureSampler


class StepBatches(Dataset):
    """Map-style view ``steps[k]`` = this process's :class:`Batch` of step k (built in loader workers)."""

    def __init__(self, datasets: list[Any], groups: list[list[list[int]]], sampler: MixtureSampler,
                 cfg: TrainConfig, weights: dict[str, LossWeights]) -> None:
        self.datasets, self.groups, self.sampler = datasets, groups, sampler
        self.cfg, self.weights = cfg, weights

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, step: int) -> Batch:
        frames = []
        for ref in self.sampler.batch(step):
            ds = self.datasets[ref.dataset]
            samples = [ds[i] for i in self.groups[ref.dataset][ref.group]]
            spec = self.cfg.data.datasets[ref.dataset]
            for s in samples:  # the spec's label keys the loss weights (an adapter may be reused)
                s.dataset = spec.label or spec.name
            rng = np.random.default_rng(list(ref.seed))
            aug = spec_augment(self.cfg.augment, spec)
            frames.append(prepare_frame(samples, aug, rng, self.cfg.loss.mask_size, aug.box_source,
                                        self.cfg.model.input_convention, self.cfg.loss.mask_frame))
        return collate_frames(frames, self.weights, self.cfg.loss.mask_size)


class StepRange(torch.utils.data.Sampler):
    """The steps ``start, ..., stop - 1`` (the indices a ``DataLoader`` asks ``StepBatches`` for)."""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start
