"""The labeled data module: crops and chunks of a manifest's train/valid/test splits, for supervised training and
probes."""

from __future__ import annotations

import copy
from functools import cached_property

import torch
from torch.utils.data import DataLoader

from ssl_mir.augment.chain import Augmentation
from ssl_mir.augment.policy import check_labels, check_properties, default_changes_with
from ssl_mir.data.audio import MAX_AMPLITUDE
from ssl_mir.data.datasets import ChunkDataset, CropDataset
from ssl_mir.data.fractions import carve_valid, label_subset, shot_subset
from ssl_mir.data.manifest import SPLITS, Manifest, OnBadFile, Row
from ssl_mir.data.pipeline import Pipeline, loader
from ssl_mir.data.tasks import Task, TaskKind


class LabeledDataModule(Pipeline):
    """Labeled audio with train/valid/test splits, for supervised training and probes.

    Training draws one random crop per clip; validation and test cut every clip into non-overlapping chunks whose
    predictions are aggregated per clip. Vocabularies come from the training split, before the label fraction is
    applied, so that every subset shares one output space.

    Args:
        manifest: CSV or JSONL with a 'split' column (train, valid, test) and one column per task (null with
            `streaming`).
        tasks: task name (a label column) → kind.
        target: the task supervised training fits (default: the only task).
        sample_rate: rate the audio is resampled to; must match the encoder's.
        chunk_samples: samples per crop and per evaluation chunk.
        max_chunks: cap on evaluation chunks per clip (None: all).
        label_fraction: fraction of the training clips used, in (0, 1].
        label_shots: instead of a fraction, this many training clips per class of the target task (a multiclass
            task; every clip of a class with fewer), the few-shot budget.
        seed: draws the label-fraction or shots subset (stratified on the target task).
        min_steps_per_epoch: a training epoch is at least this many batches (clips are drawn again), so that a
            small label fraction still trains for a meaningful number of steps per epoch.
        batch_size: crops or chunks per batch.
        num_workers: dataloader processes (None: one per available CPU, at most 8).
        on_bad_file: "raise" or "skip" bad files, see PretrainDataModule.
        max_channels: files with more channels are bad.
        max_amplitude: files whose absolute peak exceeds this are bad.
        augment: waveform augmentations of the training crops (`augment.chain`). One that alters what a trained
            task's label changes with (pitch shift for a key) is refused here, naming both.
        label_changes_with: task → the properties its label changes with ("pitch", "tempo", "loudness"); a task
            left out is judged by its name (`augment.policy.NAME_HINTS`: "key" → pitch, "bpm" → tempo).
        decoded_cache: a local folder for the decoded, resampled corpus, see PretrainDataModule.
        streaming: instead of `manifest`, shards of a labeled manifest (`ssl-mir shard`, local or a URL): its
            clips, splits and labels come from the shards' `clips.jsonl` and its audio from the shards.
        streaming_cache: where chunks of a URL are cached.
        max_cache_size: the bound of that cache.
        valid_fraction: when the manifest has no 'valid' rows, this share of the training groups becomes the
            validation split (stratified by the target, or the first task; seeded).
        group_column: the column whose value a group shares (a work, an artist), so that no group straddles train and
            valid (None: each row its own group).
    """

    def __init__(
        self,
        manifest: str | None,
        tasks: dict[str, TaskKind],
        target: str | None = None,
        sample_rate: int = 16000,
        chunk_samples: int = 59049,
        max_chunks: int | None = None,
        label_fraction: float = 1.0,
        label_shots: int | None = None,
        seed: int = 0,
        min_steps_per_epoch: int = 1,
        batch_size: int = 32,
        num_workers: int | None = None,
        on_bad_file: OnBadFile = "raise",
        max_channels: int = 2,
        max_amplitude: float = MAX_AMPLITUDE,
        augment: Augmentation | None = None,
        label_changes_with: dict[str, list[str]] | None = None,
        decoded_cache: str | None = None,
        streaming: str | None = None,
        streaming_cache: str | None = None,
        max_cache_size: str = "50GB",
        valid_fraction: float = 0.0,
        group_column: str | None = None,
    ) -> None:
        super().__init__()
        if not tasks:
            raise ValueError("data.tasks is empty: name at least one label column and its kind")
        if target is None and len(tasks) == 1:
            target = next(iter(tasks))
        _check_choice(target, label_fraction, tasks, label_shots)
        self.task_kinds = dict(tasks)
        self.target = target
        self.sample_rate = sample_rate
        self.chunk_samples = chunk_samples
        self.max_chunks = max_chunks
        self.label_fraction, self.label_shots = label_fraction, label_shots
        self.seed = seed
        self.min_steps_per_epoch = min_steps_per_epoch
        self.batch_size = batch_size
        self.on_bad_file = on_bad_file
        self.max_channels = max_channels
        self.max_amplitude = max_amplitude
        self.changes_with = _changes_with(tasks, label_changes_with or {})
        self.valid_fraction, self.group_column = valid_fraction, group_column
        self._set_pipeline(augment, decoded_cache, num_workers, manifest, streaming, streaming_cache, max_cache_size)
        self.check_augment()

    def check_augment(self) -> None:
        """Refuse augmentations that alter what a trained task's label changes with: the target when one is set,
        else every task."""
        trained = [self.target] if self.target is not None else list(self.task_kinds)
        check_labels({t: self.changes_with[t] for t in trained}, self.transforms)

    def derive(self, target: str | None = None, label_fraction: float | None = None, seed: int | None = None,
               chunk_samples: int | None = None, label_shots: int | None = None) -> LabeledDataModule:
        """This data with another target, label budget (a fraction, or shots per class, which replace each other),
        seed or (no longer) chunk length, sharing the checked files, vocabularies and targets already read: a
        comparison reads and checks the corpus once."""
        other = copy.copy(self)
        other.target = self.target if target is None else target
        if label_fraction is not None or label_shots is not None:
            other.label_fraction = 1.0 if label_fraction is None else label_fraction
            other.label_shots = label_shots
        other.seed = self.seed if seed is None else seed
        _check_choice(other.target, other.label_fraction, self.task_kinds, other.label_shots)
        other.check_augment()
        if chunk_samples is not None:
            if chunk_samples > self.chunk_samples:
                raise ValueError(f"chunk length {chunk_samples} is longer than data.chunk_samples "
                                 f"{self.chunk_samples}, which the files were checked against; raise that instead")
            other.chunk_samples = chunk_samples
        other.__dict__.pop("train_indices", None)  # the only cached value that depends on what changed
        return other

    # ------------------------------------------------------------------ prepared once, on first use
    @cached_property
    def checked(self) -> Manifest:
        """The manifest with every file probed (bad files raised, or skipped and counted); with `streaming`, the
        shards' clips (checked when they were sharded)."""
        if self.streaming:
            from ssl_mir.data.shards import shard_manifest

            manifest = shard_manifest(self.streaming)
        else:
            manifest = Manifest.load(self.manifest_path)
        if "valid" not in manifest.splits and self.valid_fraction > 0:
            manifest = carve_valid(manifest, self.valid_fraction, self.group_column,
                                   self.target or next(iter(self.task_kinds)))
        missing = [s for s in SPLITS if s not in manifest.splits]
        if missing:
            hint = "; --data.valid_fraction F carves a validation set out of train" if missing == ["valid"] else ""
            raise ValueError(f"{self.manifest_path}: the 'split' column has no rows for {missing} "
                             f"(need {list(SPLITS)}){hint}")
        if self.streaming:
            return manifest
        return manifest.check(self.on_bad_file, self.chunk_samples / self.sample_rate, self.max_channels,
                              max_amplitude=self.max_amplitude)

    @property
    def n_skipped(self) -> int:
        return len(self.checked.skipped)

    @cached_property
    def splits(self) -> dict[str, Manifest]:
        return {s: self.checked.split(s) for s in SPLITS}

    @cached_property
    def tasks(self) -> dict[str, Task]:
        return {name: Task.from_manifest(name, kind, self.splits["train"], self.changes_with[name])
                for name, kind in self.task_kinds.items()}

    @cached_property
    def targets(self) -> dict[str, dict[str, torch.Tensor]]:
        """split → task → targets aligned with the split's rows. Unknown labels fail here, at set-up."""
        return {s: {n: t.encode_rows(self.splits[s]) for n, t in self.tasks.items()} for s in SPLITS}

    @cached_property
    def train_indices(self) -> list[int]:
        """Indices of the training rows kept by the label fraction or shots, stratified on the target task
        (data.fractions)."""
        task = self.tasks.get(self.target or "")
        labels = None if task is None or task.kind == "regression" else self.targets["train"][task.name].numpy()
        if self.label_shots is not None:
            if task is None or task.kind != "multiclass":
                raise ValueError(f"data.label_shots counts clips per class of a multiclass target; "
                                 f"'{self.target}' is {task.kind if task else 'not set'}")
            return shot_subset(labels, self.label_shots, self.seed)  # type: ignore[arg-type]
        return label_subset(labels, len(self.splits["train"]), self.label_fraction, self.seed)

    @property
    def target_task(self) -> Task:
        if self.target is None:
            raise ValueError(f"data.target is not set and data.tasks has {len(self.task_kinds)} tasks; name one")
        return self.tasks[self.target]

    # ------------------------------------------------------------------ datasets
    def audio_paths(self) -> list[str]:
        return [r.path for r in self.checked.rows]

    def rows(self, split: str) -> list[Row]:
        rows = self.splits[split].rows
        return [rows[i] for i in self.train_indices] if split == "train" else rows

    def split_targets(self, split: str) -> dict[str, torch.Tensor]:
        targets = self.targets[split]
        if split != "train":
            return targets
        index = torch.tensor(self.train_indices)
        return {n: t[index] for n, t in targets.items()}

    def chunk_dataset(self, split: str) -> ChunkDataset:
        return ChunkDataset(self.rows(split), self.sample_rate, self.chunk_samples, self.split_targets(split),
                            self.max_chunks, reader=self.reader)

    def setup(self, stage: str) -> None:
        self.train_set = CropDataset(self.rows("train"), self.sample_rate, self.chunk_samples, n_views=1,
                                     transform=self.worker_augment, targets=self.split_targets("train"),
                                     reader=self.reader)

    def train_dataloader(self) -> DataLoader:
        n = max(len(self.train_set), self.batch_size * self.min_steps_per_epoch)
        return loader(self.train_set, self.batch_size, self.num_workers, self.train_sampler(n))

    def val_dataloader(self) -> DataLoader:
        return loader(self.chunk_dataset("valid"), self.batch_size, self.num_workers)

    def test_dataloader(self) -> DataLoader:
        return loader(self.chunk_dataset("test"), self.batch_size, self.num_workers)


def _changes_with(tasks: dict[str, TaskKind], declared: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    unknown = sorted(set(declared) - set(tasks))
    if unknown:
        raise ValueError(f"data.label_changes_with names {unknown}, which are not in data.tasks {list(tasks)}")
    return {t: check_properties(declared[t], f"data.label_changes_with.{t}") if t in declared
            else default_changes_with(t) for t in tasks}


def _check_choice(target: str | None, label_fraction: float, tasks: dict[str, TaskKind],
                  label_shots: int | None = None) -> None:
    if target is not None and target not in tasks:
        raise ValueError(f"data.target '{target}' is not one of data.tasks {list(tasks)}")
    if label_shots is not None and label_shots < 1:
        raise ValueError(f"data.label_shots must be at least 1 clip per class, got {label_shots}")
    if not 0.0 < label_fraction <= 1.0:
        raise ValueError(f"data.label_fraction must be in (0, 1], got {label_fraction}")
