"""Two CPU processes (gloo) under DDP give the loss and gradients of one process on the concatenated batch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from ssl_mir.pretext.losses import nt_xent

B, WORLD = 4, 2


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 5))


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(B * WORLD, 6, generator=g), torch.randn(B * WORLD, 6, generator=g)


def _worker(rank: int, out: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    model = nn.parallel.DistributedDataParallel(_model())
    x1, x2 = (x[rank * B:(rank + 1) * B] for x in _batch())
    loss = nt_xent(model(x1), model(x2), temperature=0.3)
    loss.backward()  # DDP averages the gradients over ranks
    torch.save({"loss": loss.detach(), "grads": [p.grad for p in model.parameters()]}, Path(out) / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_ddp_equals_single_process(tmp_path: Path) -> None:
    port = 29500 + os.getpid() % 1000
    mp.spawn(_worker, args=(str(tmp_path), port), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]

    model = _model()
    x1, x2 = _batch()
    loss = nt_xent(model(x1), model(x2), temperature=0.3)
    loss.backward()

    mean_loss = sum(r["loss"] for r in ranks) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    for r in ranks:
        for got, want in zip(r["grads"], (p.grad for p in model.parameters())):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    # Each rank's own loss differs (different anchors), so the match is not trivial:
    assert not torch.isclose(ranks[0]["loss"], ranks[1]["loss"])


def test_without_gathering_the_gradients_would_differ() -> None:
    """Guard on the test above: local-only negatives give another loss than the global batch."""
    model = _model()
    x1, x2 = _batch()
    local = sum(nt_xent(model(x1[r * B:(r + 1) * B]), model(x2[r * B:(r + 1) * B]), 0.3) for r in range(WORLD)) / WORLD
    assert abs(float(local) - float(nt_xent(model(x1), model(x2), 0.3))) > 1e-3


pytestmark = pytest.mark.filterwarnings("ignore")
