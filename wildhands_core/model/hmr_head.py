"""Iterative HMR-style regressor of one hand side (paper Sec. 3.1, as in HMR / ARCTIC; release layout).

Estimate vector (109 = 96 + 10 + 3), concatenated in this order (the release's, the order in which its
head builds the initial estimate; not the order its decoders are listed in; ``shared/reference/README.md``):
- ``pose_6d`` (96): 16 rotations (global orientation then the 15 finger joints, MANO order) in 6D, the
  pytorch3d convention (first two ROWS of each matrix, see :mod:`wildhands_core.rotations`); the rotations
  are relative to the MANO mean pose (smplx ``flat_hand_mean=False``); initial value = identity.
- ``shape`` (10): MANO betas; initial value = zeros.
- ``cam_t/wp`` (3): weak-perspective camera (s, tx, ty) of the 224 frame; initial value = ``cam_init(f)``.

Project checkpoints of format version 1 were written with the order pose_6d, cam_t/wp, shape;
:mod:`wildhands_core.checkpoint` permutes their ``refine`` input columns on load.

Each iteration: ``x = refine(concat(f, estimate))``, then every decoder adds a residual to its part.
"""

from __future__ import annotations

import torch
from torch import nn

from wildhands_core.constants import NUM_BETAS, NUM_MANO_JOINTS
from wildhands_core.rotations import rot6d_to_rotmat

__all__ = ["ESTIMATE_SPECS", "ESTIMATE_SPECS_V1", "HMRHead", "HMRLayer", "estimate_column_permutation"]

#: (name, size) of the estimate's parts, in the release's concatenation order.
ESTIMATE_SPECS: tuple[tuple[str, int], ...] = (
    ("pose_6d", NUM_MANO_JOINTS * 6),
    ("shape", NUM_BETAS),
    ("cam_t/wp", 3),
)
#: The order of project checkpoint format version 1 (wrong for the released weights).
ESTIMATE_SPECS_V1: tuple[tuple[str, int], ...] = (
    ("pose_6d", NUM_MANO_JOINTS * 6),
    ("cam_t/wp", 3),
    ("shape", NUM_BETAS),
)


def estimate_column_permutation(
    feat_dim: int, old: tuple[tuple[str, int], ...], new: tuple[tuple[str, int], ...] = ESTIMATE_SPECS
) -> torch.Tensor:
    """Column indices ``idx`` of ``refine``'s first weight such that ``W_new = W_old[:, idx]`` when the
    estimate parts are concatenated in order ``new`` instead of ``old`` (features first, unchanged)."""
    start, pos = feat_dim, {}
    for name, size in old:
        pos[name] = torch.arange(start, start + size)
        start += size
    return torch.cat([torch.arange(feat_dim)] + [pos[name] for name, _ in new])
DECODER_INIT_GAIN = 0.01  # release: Xavier-uniform with gain 0.01 on the decoder weights


class HMRLayer(nn.Module):
    """``refine`` MLP + one residual decoder per estimate part (``decoders`` keyed by the part name)."""

    def __init__(self, feat_dim: int, hidden: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        est_dim = sum(size for _, size in ESTIMATE_SPECS)
        self.refine = nn.Sequential(
            nn.Linear(feat_dim + est_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )
        self.decoders = nn.ModuleDict({name: nn.Linear(hidden, size) for name, size in ESTIMATE_SPECS})
        for dec in self.decoders.values():
            nn.init.xavier_uniform_(dec.weight, gain=DECODER_INIT_GAIN)

    def forward(
        self, feat: torch.Tensor, init: dict[str, torch.Tensor], iterations: int
    ) -> list[dict[str, torch.Tensor]]:
        """(N, feat_dim) features and the initial estimate -> the estimate after each iteration."""
        est = dict(init)
        history = []
        for _ in range(iterations):
            x = self.refine(torch.cat([feat] + [est[name] for name, _ in ESTIMATE_SPECS], dim=1))
            est = {name: est[name] + self.decoders[name](x) for name, _ in ESTIMATE_SPECS}
            history.append(est)
        return history


class HMRHead(nn.Module):
    """(N, feat_dim) -> MANO rotations, betas and weak-perspective camera of one hand side."""

    def __init__(
        self,
        feat_dim: int = 2048,
        hidden: int = 1024,
        cam_init_hidden: int = 512,
        iterations: int = 3,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.iterations = iterations
        self.hmr_layer = HMRLayer(feat_dim, hidden, dropout)
        self.cam_init = nn.Sequential(
            nn.Linear(feat_dim, cam_init_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(cam_init_hidden, cam_init_hidden),
            nn.ReLU(inplace=True),
            nn.Linear(cam_init_hidden, 3),
        )
        identity_6d = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]).repeat(NUM_MANO_JOINTS)
        self.register_buffer("init_pose_6d", identity_6d, persistent=False)

    def forward(self, feat: torch.Tensor) -> dict[str, torch.Tensor]:
        """(N, feat_dim) -> ``rot_6d`` (N, 16, 6), ``rotmat`` (N, 16, 3, 3), ``betas`` (N, 10),
        ``cam_wp`` (N, 3) = (s, tx, ty) after the last iteration."""
        n = feat.shape[0]
        init = {
            "pose_6d": self.init_pose_6d.to(feat.dtype).expand(n, -1),
            "cam_t/wp": self.cam_init(feat),
            "shape": feat.new_zeros(n, NUM_BETAS),
        }
        est = self.hmr_layer(feat, init, self.iterations)[-1]
        rot_6d = est["pose_6d"].reshape(n, NUM_MANO_JOINTS, 6)
        return {
            "rot_6d": rot_6d,
            "rotmat": rot6d_to_rotmat(rot_6d),
            "betas": est["shape"],
            "cam_wp": est["cam_t/wp"],
        }
