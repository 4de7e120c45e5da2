"""What both data modules share: loaders with sensible defaults, where crops are read from (the files, or the
decoded cache) and where training crops are augmented (per clip in the workers, or per batch after transfer)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from functools import cached_property

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ssl_mir.augment.batch import BatchAugment
from ssl_mir.augment.chain import Augmentation
from ssl_mir.augment.waveform import CpuAugment
from ssl_mir.data.audio import read_crop
from ssl_mir.data.datasets import CropReader
from ssl_mir.data.decoded import DecodedCache


def default_workers() -> int:
    """One loader process per CPU this process may use, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def loader(dataset: Dataset, batch_size: int, num_workers: int, shuffle: bool, drop_last: bool = False,
            sampler: Sampler | None = None) -> DataLoader:
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        drop_last=drop_last,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if num_workers > 0 else None,
    )


class Pipeline(pl.LightningDataModule, ABC):
    """The base of both data modules: `_set_pipeline` in their `__init__`, `audio_paths` for the cache."""

    sample_rate: int

    def _set_pipeline(self, augment: Augmentation | None, decoded_cache: str | None, num_workers: int | None) -> None:
        self.augment = augment
        self.transforms = augment.parsed() if augment else []  # parsed here: a bad entry is a config-time error
        backend = augment.backend if augment else None
        self.worker_augment = CpuAugment(self.transforms) if backend == "cpu" else None
        self.batch_augment = BatchAugment(self.transforms, self.sample_rate) if backend == "device" else None
        self.decoded_cache = decoded_cache
        self.num_workers = default_workers() if num_workers is None else num_workers

    @abstractmethod
    def audio_paths(self) -> list[str]:
        """Every file this data module reads."""

    @cached_property
    def reader(self) -> CropReader:
        """Seek-reads of the files, or slices of the decoded cache (built here for the files it lacks)."""
        if self.decoded_cache is None:
            return read_crop
        cache = DecodedCache(self.decoded_cache, self.sample_rate)
        cache.build(self.audio_paths())
        return cache.read

    def prepare_data(self) -> None:
        if self.decoded_cache is not None:
            self.reader  # noqa: B018  (builds the cache once, before the ranks set up)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        if self.batch_augment is not None and self.trainer is not None and self.trainer.training and "views" in batch:
            views = batch["views"]  # (B, V, S)
            shard = (self.trainer.global_rank, self.trainer.world_size)
            batch["views"] = self.batch_augment(views.flatten(0, 1), shard).unflatten(0, views.shape[:2])  # (B, V, S')
        return batch
