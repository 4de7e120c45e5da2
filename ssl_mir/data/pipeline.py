"""What both data modules share: loaders with sensible defaults, where crops are read from (the files, or the
decoded cache) and where training crops are augmented (per clip in the workers, or per batch after transfer)."""

from __future__ import annotations

import copy
import os
import warnings
from abc import ABC, abstractmethod
from functools import cached_property
from typing import TYPE_CHECKING

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from ssl_mir.augment.batch import BatchAugment
from ssl_mir.augment.chain import Augmentation
from ssl_mir.augment.waveform import CpuAugment
from ssl_mir.data.audio import read_crop
from ssl_mir.data.datasets import CropReader
from ssl_mir.data.decoded import DecodedCache
from ssl_mir.data.sampling import EpochSampler, Stream, batch_draw, derive_seed, run_seed

if TYPE_CHECKING:  # litdata is an optional extra (ssl_mir[scale]), imported where shards are streamed
    from litdata import StreamingDataLoader, StreamingDataset

# Lightning warns that a mid-epoch checkpoint cannot resume exactly unless the loader keeps its own state; here the
# data module keeps the sampler's position (`Pipeline.state_dict`), so the resume is exact.
warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")


def default_workers() -> int:
    """One loader process per CPU this process may use, at most 8."""
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def loader(dataset: Dataset, batch_size: int, num_workers: int, sampler: EpochSampler | None = None) -> DataLoader:
    """In order without a sampler (evaluation), else in the sampler's order."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if num_workers > 0 else None,
    )


class Pipeline(pl.LightningDataModule, ABC):
    """The base of both data modules: `_set_pipeline` in their `__init__` (where the audio comes from: files, or
    shards with `streaming`), `audio_paths` for the cache."""

    sample_rate: int

    def _set_pipeline(self, augment: Augmentation | None, decoded_cache: str | None, num_workers: int | None,
                      manifest: str | None = None, streaming: str | None = None, streaming_cache: str | None = None,
                      max_cache_size: str = "50GB", device_crops: bool = False) -> None:
        if (manifest is None) == (streaming is None):
            raise ValueError("set one of data.manifest (files) and data.streaming (a shard folder or URL)")
        if streaming is not None and decoded_cache is not None:
            raise ValueError("data.decoded_cache works on files; leave it out with data.streaming")
        if device_crops and (decoded_cache is None or (augment is not None and augment.backend == "cpu")):
            raise ValueError("data.device_crops cuts crops from the decoded cache on the device: it needs "
                             "data.decoded_cache, and augmentation on the device (augment.backend: device) or none")
        self.device_crops = device_crops
        self.manifest_path = manifest or streaming
        self.streaming, self.streaming_cache, self.max_cache_size = streaming, streaming_cache, max_cache_size
        self.augment = augment
        self.transforms = augment.parsed() if augment else []  # parsed here: a bad entry is a config-time error
        backend = augment.backend if augment else None
        self.worker_augment = CpuAugment(self.transforms) if backend == "cpu" else None
        self.batch_augment = BatchAugment(self.transforms, self.sample_rate) if backend == "device" else None
        self.decoded_cache = decoded_cache
        self.num_workers = default_workers() if num_workers is None else num_workers
        self._train_sampler: EpochSampler | None = None
        self._train_stream: StreamingDataLoader | None = None
        self._resume: dict | None = None  # a checkpoint's position, for the next train_sampler or train_stream

    @abstractmethod
    def audio_paths(self) -> list[str]:
        """Every file this data module reads."""

    @cached_property
    def reader(self) -> CropReader:
        """Seek-reads of the files, crops of the shards (`data.streaming`), or slices of the decoded cache (built here
        for the files it lacks)."""
        if self.streaming is not None:
            from ssl_mir.data.shards import ShardReader

            return ShardReader(self.streaming, self.streaming_cache, self.max_cache_size)
        if self.decoded_cache is None:
            return read_crop
        return self.decoded.read

    @cached_property
    def decoded(self) -> DecodedCache:
        """The decoded cache, built here for the files it lacks."""
        assert self.decoded_cache is not None
        cache = DecodedCache(self.decoded_cache, self.sample_rate)
        cache.build(self.audio_paths())
        return cache

    def with_decoded_cache(self, folder: str) -> Pipeline:
        """This data read through a decoded cache in `folder` (built on first read), sharing everything else."""
        if self.streaming is not None:
            raise ValueError("data.decoded_cache works on files; leave it out with data.streaming")
        other = copy.copy(self)
        other.decoded_cache = folder
        other.__dict__.pop("reader", None)
        other.__dict__.pop("decoded", None)
        return other

    def epoch_sampler(self, dataset: Dataset, num_samples: int | None = None,
                      whole_batches: bool = False) -> EpochSampler:
        """This rank's share of each epoch's seeded order (`sampling.EpochSampler`)."""
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        return EpochSampler(dataset, self.batch_size, run_seed(), num_samples, rank, world, whole_batches)

    def train_sampler(self, num_samples: int | None = None, whole_batches: bool = False) -> EpochSampler:
        """The training set's sampler, placed where a restored checkpoint's run was; its position goes into
        checkpoints. (Lightning restores a loader's own state only on some of its restart paths; a data module's state
        on all.)"""
        self._train_sampler = self.epoch_sampler(self.train_set, num_samples, whole_batches)
        if self._resume is not None:
            if "stream" in self._resume:
                raise ValueError("the checkpoint was written by a run that streamed shards, and this one reads files: "
                                 "resume with the same data")
            self._train_sampler.load_state_dict(self._resume)
            self._resume = None
        return self._train_sampler

    def train_stream(self, dataset: StreamingDataset) -> StreamingDataLoader:
        """The loader of a streamed training set, placed where a restored checkpoint's run was (litdata's loader
        state: the epoch, and the clips each worker has given)."""
        from ssl_mir.data.streaming import streaming_loader

        state = self._resume.get("stream") if self._resume else None
        if self._resume and state is None:
            raise ValueError("the checkpoint was written by a run that read files, and this one streams shards: "
                             "resume with the same data")
        self._train_stream = streaming_loader(dataset, self.batch_size, self.num_workers, state)
        self._resume = None
        return self._train_stream

    def state_dict(self) -> dict:
        if self._train_stream is not None:
            return {"stream": self._train_stream.state_dict()}
        if self._train_sampler is None:
            return {}
        return self._train_sampler.state_dict(self.trainer.num_training_batches if self.trainer else None)

    def load_state_dict(self, state_dict: dict) -> None:
        self._resume = state_dict or None

    def prepare_data(self) -> None:
        if self.decoded_cache is not None:
            self.reader  # noqa: B018  (builds the cache once, before the ranks set up)

    def cut_on_device(self, batch: dict) -> dict:
        """The batch with the crops its workers only located cut on its device (`data.device_crops` of
        pre-training); as it is here."""
        return batch

    def on_before_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """A training batch's `draw` read here, on the host, as three numbers: read on an accelerator, each step would
        wait for the device to finish the step before (a sync), twice (the augmentation's seed, `SeededDraws`)."""
        if isinstance(batch, dict) and isinstance(batch.get("draw"), torch.Tensor):
            batch["draw"] = batch_draw(batch)
        return batch

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """With `device_crops`, the batch's crops are cut on the device first. A training batch is marked trained in
        its sampler (checkpoints resume after it) and augmented on the device with draws seeded by (seed, epoch,
        batch), the same on every rank."""
        batch = self.cut_on_device(batch)
        trainer = self.trainer
        if trainer is None or not trainer.training or "draw" not in batch:
            return batch
        seed, epoch, number = batch_draw(batch)
        if self._train_sampler is not None:
            self._train_sampler.trained(epoch, number)
        if self.batch_augment is not None and "views" in batch:
            views = batch["views"]  # (B, V, S)
            shard = (trainer.global_rank, trainer.world_size)
            with torch.random.fork_rng(devices=[views.device] if views.device.type == "cuda" else []):
                torch.manual_seed(derive_seed(seed, Stream.BATCH_AUGMENT, epoch, number))
                batch["views"] = self.batch_augment(views.flatten(0, 1), shard).unflatten(0, views.shape[:2])  # (B, V, S')
        return batch
