"""Metrics per task kind (torchmetrics) and clip-level aggregation of chunk outputs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np
import torch
from torchmetrics import MeanAbsoluteError, Metric, MetricCollection, R2Score
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MultilabelAUROC,
    MultilabelAveragePrecision,
)
from torchmetrics.utilities import dim_zero_cat

from ssl_mir.data.keys import parse_key
from ssl_mir.data.tasks import Task


Aggregation = Literal["logits", "probs"]
PRIMARY_METRIC = {"multiclass": "accuracy", "multilabel": "roc_auc", "regression": "r2"}  # model selection, higher is better
TOP_K = 3


def task_metrics(task: Task) -> MetricCollection:
    """Accuracy, macro-F1 and top-3 accuracy (multiclass, top-3 from 4 classes on); macro ROC-AUC and macro AP
    (multilabel); R² and MAE (regression). They score clips already gathered from every rank (`ClipEvaluator`), so
    they do not sync themselves."""
    local = {"sync_on_compute": False}
    if task.kind == "multiclass":
        c = task.num_outputs
        metrics = {"accuracy": MulticlassAccuracy(c, average="micro", **local),
                   "macro_f1": MulticlassF1Score(c, average="macro", **local)}
        if c > TOP_K:
            metrics[f"top{TOP_K}_accuracy"] = MulticlassAccuracy(c, top_k=TOP_K, average="micro", **local)
        return MetricCollection(metrics)
    if task.kind == "multilabel":
        c = task.num_outputs
        return MetricCollection({"roc_auc": MultilabelAUROC(c, average="macro", **local),
                                 "avg_precision": MultilabelAveragePrecision(c, average="macro", **local)})
    return MetricCollection({"r2": R2Score(**local), "mae": MeanAbsoluteError(**local)})


def weighted_key_score(reference: str, estimate: str) -> float:
    """The MIREX key score (as in mir_eval.key.weighted_score): 1 for the same key, 0.5 for the fifth above in the
    same mode, 0.3 for the relative major/minor, 0.2 for the parallel major/minor, else 0."""
    (ref, ref_mode), (est, est_mode) = parse_key(reference), parse_key(estimate)  # type: ignore[misc]
    if (ref, ref_mode) == (est, est_mode):
        return 1.0
    if ref_mode == est_mode and (est - ref) % 12 == 7:
        return 0.5
    if ref_mode == "major" and est_mode == "minor" and (est - ref) % 12 == 9:
        return 0.3
    if ref_mode == "minor" and est_mode == "major" and (est - ref) % 12 == 3:
        return 0.3
    if ref == est:
        return 0.2
    return 0.0


def is_key_task(task: Task) -> bool:
    """A multiclass task whose every class is a key name gets the weighted key score too."""
    return task.kind == "multiclass" and all(parse_key(c) is not None for c in task.classes)


def aggregate_by_clip(values: torch.Tensor, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of chunk rows per clip.

    Args:
        values: (N, ...) per-chunk values.
        clip: (N,) clip index of each chunk.

    Returns:
        (K, ...) per-clip means and the (K,) sorted clip indices they belong to.
    """
    clips, inverse = torch.unique(clip, sorted=True, return_inverse=True)
    sums = torch.zeros((len(clips), *values.shape[1:]), dtype=values.dtype, device=values.device)
    sums.index_add_(0, inverse, values)
    counts = torch.bincount(inverse, minlength=len(clips)).to(values.dtype)
    return sums / counts.view(-1, *([1] * (values.dim() - 1))), clips


def distributed() -> bool:
    """True inside a process group of more than one rank."""
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


class ClipEvaluator(Metric):
    """Collects chunk outputs over an epoch, averages them per clip, and scores the clips.

    Chunk outputs are averaged per clip as logits, as in MARBLE (Yuan et al. 2023), or as probabilities (softmax or
    sigmoid), as in CLMR (Spijkervet & Burgoyne 2021); regression values are averaged as they are.

    A torchmetrics `Metric`: with `sync` (the default) `compute` gathers every rank's chunks under DDP, drops the
    copies a distributed sampler pads its shares with (by chunk id), and merges the chunks of a clip wherever they
    were computed, so that every rank scores the whole split, as one process would. `sync=False` scores what this
    process saw (what rank zero alone computes must not wait for the others).

    Args:
        task: what the outputs mean.
        aggregation: average chunk "logits" or "probs" per clip.
        sync: gather the other ranks' chunks in `compute`.

    After `compute`, `clip_outputs` holds the clip predictions (K, C) and targets it scored (what figures draw).
    """

    full_state_update = False

    def __init__(self, task: Task, aggregation: Aggregation = "logits", sync: bool = True) -> None:
        super().__init__(sync_on_compute=sync)
        self.task = task
        self.aggregation = aggregation
        for name in ("preds", "targets", "clips", "chunks"):
            self.add_state(name, default=[], dist_reduce_fx="cat")
        self.numbered = 0  # chunks numbered here when the caller gives no ids
        self.clip_outputs = (torch.empty(0), torch.empty(0))

    def reset(self) -> None:
        super().reset()
        self.numbered = 0

    def update(self, output: torch.Tensor, target: torch.Tensor, clip: torch.Tensor,
               chunk: torch.Tensor | None = None) -> None:
        """output (B, C), target, clip (B,) and chunk (B,): each chunk's id in its split (a sampler may repeat it)."""
        if chunk is None:
            if distributed():
                raise ValueError("under DDP every chunk needs its id (the 'chunk' of the batch): without it the "
                                 "copies a distributed sampler pads with would be scored twice")
            chunk = torch.arange(self.numbered, self.numbered + len(clip), device=clip.device)
            self.numbered += len(clip)
        pred = self.task.predict(output.detach())
        if self.aggregation == "probs" and self.task.kind != "regression":
            pred = pred.softmax(dim=-1) if self.task.kind == "multiclass" else pred.sigmoid()
        self.preds.append(pred)
        self.targets.append(target.detach())
        self.clips.append(clip.detach())
        self.chunks.append(chunk.detach())

    def compute(self) -> dict[str, float]:
        chunk = dim_zero_cat(self.chunks)  # every rank's, after the sync
        ids, inverse = torch.unique(chunk, return_inverse=True)
        first = torch.full((len(ids),), len(chunk), device=chunk.device).scatter_reduce(
            0, inverse, torch.arange(len(chunk), device=chunk.device), "amin")  # one row per chunk id
        clip = dim_zero_cat(self.clips)[first]
        preds, clips = aggregate_by_clip(dim_zero_cat(self.preds)[first].float().cpu(), clip.cpu())
        targets = dim_zero_cat(self.targets)[first].cpu()
        order = {int(c): i for i, c in reversed(list(enumerate(clip.tolist())))}
        targets = targets[[order[int(c)] for c in clips]]
        if self.task.kind == "multilabel":
            targets = targets.long()
        self.clip_outputs = (preds, targets)
        metrics = task_metrics(self.task)
        scores = {k: float(v) for k, v in metrics(preds, targets).items()}
        if is_key_task(self.task):
            names = self.task.classes
            pairs = zip(targets.tolist(), preds.argmax(dim=1).tolist())
            scores["weighted_key_score"] = float(np.mean([weighted_key_score(names[t], names[p]) for t, p in pairs]))
        return scores


class ClipScoring(ABC):
    """Validation and test hooks shared by probes and supervised models: chunk outputs are collected by a
    ClipEvaluator (gathered from every rank under DDP) and logged as `val/<metric>` and `test/<metric>` at clip
    level. A subclass provides `evaluator` and `chunk_outputs(batch) → (output, target, clip, chunk)`."""

    evaluator: ClipEvaluator

    @abstractmethod
    def chunk_outputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(output (B, C), target, clip (B,), chunk (B,)) of a batch of chunks: each model knows where its inputs
        are."""

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.evaluator.update(*self.chunk_outputs(batch))

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.evaluator.update(*self.chunk_outputs(batch))

    def on_validation_epoch_end(self) -> None:
        self.log_scores("val")

    def on_test_epoch_end(self) -> None:
        self.log_scores("test")

    def log_scores(self, stage: str) -> None:
        scores = self.evaluator.compute()  # the same on every rank
        self.evaluator.reset()
        self.log_dict({f"{stage}/{k}": v for k, v in scores.items()})  # type: ignore[attr-defined]
