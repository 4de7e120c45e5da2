"""Random draws that are pure functions of where they happen, so that a resumed run draws what the uninterrupted one
would have drawn, whatever the worker count or the rank that runs them.

An epoch's order is a permutation seeded by (run seed, epoch); each item is a `Draw` that names its clip, epoch and
batch, and the dataset seeds its crops and per-clip augmentations from it. The sampler remembers how many batches of
its epoch were trained; the data module keeps that in checkpoints and, restored, the sampler starts after them.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from typing import Any, Iterator, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler


class Stream:
    """The independent random streams of one training batch: which salt keys which use."""

    ORDER, CROP, WORKER_AUGMENT, BATCH_AUGMENT, MODEL = range(5)


def derive_seed(*key: int) -> int:
    """A 63-bit seed from a tuple of non-negative integers (NumPy's SeedSequence hashes them: nearby keys give
    unrelated streams)."""
    return int(np.random.SeedSequence(list(key)).generate_state(1, np.uint64)[0]) >> 1


def run_seed() -> int:
    """The run's seed: what `seed_everything` (the config's, 0 by default) set, or 0."""
    return int(os.environ.get("PL_GLOBAL_SEED", 0))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Python's, NumPy's and torch's CPU generators seeded for the block and restored after it: code that draws from
    the global generators (audiomentations) draws the same there, and the caller's streams are left as they were."""
    python, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python)
            np.random.set_state(numpy_state)


class Draw(NamedTuple):
    """One item of an epoch: the clip `index`, drawn in `epoch` into its `batch` (the batch's number within the
    epoch, the same on every rank) under the run's `seed`. A plain int index is Draw(index)."""

    index: int
    epoch: int = 0
    batch: int = 0
    seed: int = 0

    def seed_for(self, stream: int, *more: int) -> int:
        """The seed of this item's `stream` (`Stream`), e.g. its crops, or one view's augmentation."""
        return derive_seed(self.seed, stream, self.epoch, self.index, *more)


def batch_draw(batch: dict) -> tuple[int, int, int]:
    """(seed, epoch, batch number) of a training batch, from the items' `draw` (alike for every item): the loader's
    (B, 3) tensor, or these three numbers where `Pipeline.on_before_batch_transfer` read them before the transfer."""
    draw = batch["draw"]
    seed, epoch, number = (int(v) for v in (draw[0].tolist() if isinstance(draw, torch.Tensor) else draw))
    return seed, epoch, number


class EpochSampler(DistributedSampler):
    """Each epoch a permutation of the clips seeded by (seed, epoch), concatenated with further ones when an epoch
    draws more items than there are clips; rank r of w takes every w-th item, and every rank as many (whole batches
    only, or padded from the start). It is a DistributedSampler, so that Lightning does not replace it under DDP.

    Args:
        dataset: what is sampled (its length).
        batch_size: items per batch (to number the batches and to skip trained ones on resume).
        seed: the run's seed.
        num_samples: items per epoch over all ranks (None: one per clip).
        rank: this process's rank.
        world: number of ranks.
        whole_batches: each rank's share is cut to whole batches (contrastive losses want equal batches).
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, num_samples: int | None = None, rank: int = 0,
                 world: int = 1, whole_batches: bool = False) -> None:
        super().__init__(dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed)
        self.batch_size = batch_size
        self.draws = num_samples if num_samples is not None else len(dataset)  # type: ignore[arg-type]
        per_rank = self.draws // world if whole_batches else math.ceil(self.draws / world)
        self.num_samples = per_rank - per_rank % batch_size if whole_batches else per_rank
        if self.num_samples == 0:
            raise ValueError(f"{self.draws} items over {world} ranks leave no whole batch of {batch_size}")
        self.total_size = self.num_samples * world
        self.batches = math.ceil(self.num_samples / batch_size)
        self.taken = (0, 0)  # (epoch, batches of it trained)
        self.skip = 0  # batches of the current epoch to leave out (set by load_state_dict)

    def __iter__(self) -> Iterator[Draw]:  # type: ignore[override]
        n = len(self.dataset)  # type: ignore[arg-type]
        generator = torch.Generator().manual_seed(derive_seed(self.seed, Stream.ORDER, self.epoch))
        order = torch.cat([torch.randperm(n, generator=generator) for _ in range(-(-self.total_size // n))])
        mine = order[:self.total_size][self.rank::self.num_replicas].tolist()  # (num_samples,)
        start, self.skip = self.skip * self.batch_size, 0
        for position in range(start, len(mine)):
            yield Draw(mine[position], self.epoch, position // self.batch_size, self.seed)

    def trained(self, epoch: int, batch: int) -> None:
        """Batch `batch` of `epoch` is being trained: a checkpoint after it resumes with the next."""
        self.taken = (epoch, batch + 1)

    def state_dict(self, epoch_batches: float | None = None) -> dict[str, int]:
        """Where a resumed run goes on: the epoch and its batches done, or the next epoch's start once the epoch's
        `epoch_batches` are done (default: all of this sampler's; Lightning's `limit_train_batches` makes fewer)."""
        epoch, done = self.taken
        if done >= min(self.batches, epoch_batches or self.batches):
            epoch, done = epoch + 1, 0
        return {"epoch": epoch, "batches": done, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Go on where `state_dict` said. Called before the first iterator is made: loader workers draw their indices
        as soon as it is, before Lightning's `set_epoch`."""
        if state["seed"] != self.seed:
            raise ValueError(f"the checkpoint's run drew with seed {state['seed']}, this one with {self.seed}: resume "
                             f"with the same --seed_everything")
        self.epoch, self.skip = state["epoch"], state["batches"]
        self.taken = (self.epoch, self.skip)


class SeededDraws:
    """A LightningModule mixin: before each training batch, torch's generators are seeded from the run seed, the
    epoch, the batch (the batch's `draw`, from `EpochSampler`) and the rank, so that the module's own draws (masks,
    spectrogram augmentations, dropout) are the same in a resumed run without saving generator states, and differ
    between ranks."""

    global_rank: int

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if isinstance(batch, dict) and "draw" in batch:
            seed, epoch, number = batch_draw(batch)
            torch.manual_seed(derive_seed(seed, Stream.MODEL, epoch, number, self.global_rank))
