"""DDP on 2 CPU processes (gloo) gives the single-process gradient of the whole batch."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from train_helpers import make_synth, tiny_train_config

from training.trainer import Trainer

OVERRIDES = ("optim.batch_size=2", "optim.freeze_batchnorm=true", "model.dropout=0.0")


def _grads(tr: Trainer) -> dict[str, torch.Tensor]:
    batch = tr.batches(0, 1).dataset[0]
    tr._train_mode()
    tr.optimizer.zero_grad()
    loss, _, _ = tr.forward_loss(batch.to(tr.device))
    loss.backward()
    return {k: p.grad.detach().clone() for k, p in tr.model.named_parameters() if p.grad is not None}


def _worker(rank: int, root: str, out: str, port: int) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    tr = Trainer(tiny_train_config(root, out, *OVERRIDES), verbose=False)
    grads = _grads(tr)
    if rank == 0:
        torch.save(grads, os.path.join(out, "ddp_grads.pt"))
    torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_ddp_gradients_match_the_single_process_gradients(tmp_path):
    root = make_synth(tmp_path / "synth", frames=2)
    out = tmp_path / "run"
    out.mkdir()
    mp.spawn(_worker, args=(str(root), str(out), _free_port()), nprocs=2, join=True)
    ddp = torch.load(out / "ddp_grads.pt", weights_only=True)
    single = _grads(Trainer(tiny_train_config(root, out, *OVERRIDES), verbose=False))
    assert set(ddp) == set(single) and len(single) > 50
    for k, g in single.items():
        # float32 sums in a different order: equal to ~1e-6 of the tensor's scale
        assert torch.allclose(ddp[k], g, rtol=1e-3, atol=1e-4 * float(g.abs().max()) + 1e-12), k
        assert float((ddp[k] - g).norm()) <= 1e-4 * float(g.norm()) + 1e-12, k
