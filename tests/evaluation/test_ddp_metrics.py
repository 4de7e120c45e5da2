"""Clip-level metrics under DDP: two gloo processes score the whole split, as one process does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ssl_mir.data.tasks import Task
from ssl_mir.evaluation.metrics import ClipEvaluator
from tests.conftest import free_port

WORLD, N_CHUNKS = 2, 21  # odd: a distributed sampler pads one rank's share with a repeated chunk
TASK = Task("y", "multiclass", ("a", "b", "c"))


def _chunks() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Chunk outputs, targets and clips: 7 clips of 3 consecutive chunks, whose chunks disagree."""
    g = torch.Generator().manual_seed(0)
    clip = torch.arange(N_CHUNKS) // 3
    return torch.randn(N_CHUNKS, 3, generator=g), clip % 3, clip


def _share(rank: int) -> torch.Tensor:
    """What torch's DistributedSampler(shuffle=False) gives a rank: every WORLD-th chunk, padded from the start."""
    total = -(-N_CHUNKS // WORLD) * WORLD
    padded = list(range(N_CHUNKS)) + list(range(total - N_CHUNKS))
    return torch.tensor(padded[rank::WORLD])


def _worker(rank: int, out: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    output, target, clip = _chunks()
    mine = _share(rank)
    scores = {}
    for sync in (True, False):
        evaluator = ClipEvaluator(TASK, sync=sync)
        for batch in mine.split(4):  # a few batches, as validation steps
            evaluator.update(output[batch], target[batch], clip[batch], batch)
        scores[sync] = evaluator.compute()
    with pytest.raises(ValueError, match="under DDP every chunk needs its id"):
        ClipEvaluator(TASK).update(output[:2], target[:2], clip[:2])
    torch.save(scores, Path(out) / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_two_ranks_score_like_one_process(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(tmp_path), free_port()), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]
    single = ClipEvaluator(TASK)
    single.update(*_chunks())
    expected = single.compute()
    assert 0.0 < expected["accuracy"] < 1.0
    for scores in ranks:
        assert scores[True] == pytest.approx(expected, abs=1e-6)
    assert any(scores[False] != pytest.approx(expected, abs=1e-6) for scores in ranks)  # the sync is what matters


def test_a_repeated_chunk_is_scored_once() -> None:
    output, target, clip = _chunks()
    evaluator = ClipEvaluator(TASK)
    evaluator.update(output, target, clip, torch.arange(N_CHUNKS))
    once = evaluator.compute()
    evaluator.update(output[:1], target[:1], clip[:1], torch.tensor([0]))  # what padding adds
    assert evaluator.compute() == once
    # One clip of label a: chunk 0 says a (2 vs 0), chunk 1 says b (3 vs 0); chunk 0 arrives twice.
    rows, label, one_clip = torch.tensor([[2.0, 0, 0], [2.0, 0, 0], [0, 3.0, 0]]), torch.zeros(3, dtype=torch.long), \
        torch.zeros(3, dtype=torch.long)
    evaluator.reset()
    evaluator.update(rows, label, one_clip, torch.tensor([0, 0, 1]))
    assert evaluator.compute()["accuracy"] == 0.0  # mean of the two chunks: b
    evaluator.reset()
    evaluator.update(rows, label, one_clip)  # numbered as three chunks
    assert evaluator.compute()["accuracy"] == 1.0  # chunk 0 weighs double: a


pytestmark = pytest.mark.filterwarnings("ignore")
