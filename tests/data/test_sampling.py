"""The epoch sampler and per-item seeding: draws are functions of (seed, epoch, index), not of processes."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_mir.augment.vocabulary import parse
from ssl_mir.augment.waveform import CpuAugment
from ssl_mir.data.datasets import CropDataset
from ssl_mir.data.manifest import Manifest
from ssl_mir.data.pipeline import loader
from ssl_mir.data.sampling import Draw, EpochSampler, derive_seed, seeded


def test_ranks_share_each_epoch_permutation_and_number_batches_alike() -> None:
    data = list(range(10))
    ranks = [list(EpochSampler(data, 2, seed=3, rank=r, world=2)) for r in range(2)]
    assert sorted(d.index for share in ranks for d in share) == data
    assert [d.batch for d in ranks[0]] == [d.batch for d in ranks[1]] == [0, 0, 1, 1, 2]
    first = EpochSampler(data, 2, seed=3)
    again = [d.index for d in first]
    first.set_epoch(1)
    assert again == [d.index for d in EpochSampler(data, 2, seed=3)] != [d.index for d in first]


def test_whole_batches_and_more_draws_than_clips() -> None:
    sampler = EpochSampler(list(range(5)), 2, seed=0, num_samples=11, rank=1, world=2, whole_batches=True)
    draws = list(sampler)
    assert len(draws) == len(sampler) == 4 and sampler.batches == 2
    with pytest.raises(ValueError, match="no whole batch"):
        EpochSampler(list(range(3)), 4, seed=0, whole_batches=True)


def test_a_restored_sampler_goes_on_after_the_trained_batches() -> None:
    data = list(range(12))
    sampler = EpochSampler(data, 3, seed=5)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.trained(2, 1)  # batches 0 and 1 of epoch 2 are in the checkpoint
    assert sampler.state_dict() == {"epoch": 2, "batches": 2, "seed": 5}
    restored = EpochSampler(data, 3, seed=5)
    restored.load_state_dict(sampler.state_dict())
    assert list(restored) == full[6:]
    assert list(restored) == full  # the skip holds for one pass; set_epoch(2) is what Lightning calls next
    assert sampler.state_dict(epoch_batches=2) == {"epoch": 3, "batches": 0, "seed": 5}  # limit_train_batches 2
    sampler.trained(2, 3)  # the epoch's last batch
    restored.load_state_dict(sampler.state_dict())
    assert restored.epoch == 3 and next(iter(restored)).epoch == 3 and len(list(restored)) == 12
    with pytest.raises(ValueError, match="same --seed_everything"):
        EpochSampler(data, 3, seed=6).load_state_dict(sampler.state_dict())


def test_a_clip_gets_the_same_views_with_any_worker_count(corpus: Path) -> None:
    rows = Manifest.load(corpus).check().rows[:8]
    chain = CpuAugment(parse([{"name": "gain", "p": 0.5}, {"name": "noise", "p": 0.5}, {"name": "delay", "p": 0.5}],
                             "augment"))
    data = CropDataset(rows, 16000, 8000, n_views=2, transform=chain)

    def views(workers: int) -> list[torch.Tensor]:
        return [b["views"] for b in loader(data, 4, workers, EpochSampler(data, 4, seed=1))]

    inline, two = views(0), views(2)
    assert all(torch.equal(a, b) for a, b in zip(inline, two)) and len(inline) == 2
    assert not torch.equal(data[Draw(0, epoch=0, seed=1)]["views"], data[Draw(0, epoch=1, seed=1)]["views"])


def test_seeded_blocks_draw_alike_and_leave_the_callers_generators_alone() -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()
    with seeded(derive_seed(1, 2)):
        first = torch.rand(3), np.random.rand(), random.random()
    with seeded(derive_seed(1, 2)):
        second = torch.rand(3), np.random.rand(), random.random()
    assert torch.equal(first[0], second[0]) and first[1:] == second[1:]
    assert torch.equal(torch.get_rng_state(), before[0]) and np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]
    assert len({derive_seed(0, 0, 1), derive_seed(0, 1, 0), derive_seed(1, 0, 0)}) == 3
