"""Grasp classifier on the predicted MANO parameters (paper Sec. 3.3; release layout).

Input: betas (10) then the 16 rotation matrices flattened row-major (144) = 154 values. Release MLP:
154 -> 1024 -> 512 -> 128 -> 9 with ReLU between; the 9 logits follow
``wildhands_core.constants.GRASP_CLASS_NAMES`` (8 grasp types of Cheng et al. 2023, then no-grasp).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from wildhands_core.constants import NUM_BETAS, NUM_GRASP_CLASSES, NUM_MANO_JOINTS

__all__ = ["GRASP_INPUT_DIM", "GraspHead"]

GRASP_INPUT_DIM = NUM_BETAS + NUM_MANO_JOINTS * 9


class GraspHead(nn.Sequential):
    """(N, 10) betas and (N, 16, 3, 3) rotmats -> (N, 9) logits. Children 0, 2, 4, 6 are the Linears."""

    def __init__(self, hidden: tuple[int, ...] = (1024, 512, 128), num_classes: int = NUM_GRASP_CLASSES):
        layers: list[nn.Module] = []
        dims = (GRASP_INPUT_DIM, *hidden)
        for d_in, d_out in itertools.pairwise(dims):
            layers += [nn.Linear(d_in, d_out), nn.ReLU(inplace=True)]
        layers.append(nn.Linear(dims[-1], num_classes))
        super().__init__(*layers)

    def forward(self, betas: torch.Tensor, rotmat: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(torch.cat((betas, rotmat.flatten(1)), dim=1))
