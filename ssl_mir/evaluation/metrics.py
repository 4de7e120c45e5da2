"""Metrics per task kind (torchmetrics) and clip-level aggregation of chunk outputs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np
import torch
from torchmetrics import MeanAbsoluteError, MetricCollection, R2Score
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MultilabelAUROC,
    MultilabelAveragePrecision,
)

from ssl_mir.data.keys import parse_key
from ssl_mir.data.tasks import Task


Aggregation = Literal["logits", "probs"]
PRIMARY_METRIC = {"multiclass": "accuracy", "multilabel": "roc_auc", "regression": "r2"}  # model selection, higher is better
TOP_K = 3


def task_metrics(task: Task) -> MetricCollection:
    """Accuracy, macro-F1 and top-3 accuracy (multiclass, top-3 from 4 classes on); macro ROC-AUC and macro AP
    (multilabel); R² and MAE (regression)."""
    if task.kind == "multiclass":
        c = task.num_outputs
        metrics = {"accuracy": MulticlassAccuracy(c, average="micro"),
                   "macro_f1": MulticlassF1Score(c, average="macro")}
        if c > TOP_K:
            metrics[f"top{TOP_K}_accuracy"] = MulticlassAccuracy(c, top_k=TOP_K, average="micro")
        return MetricCollection(metrics)
    if task.kind == "multilabel":
        c = task.num_outputs
        return MetricCollection({"roc_auc": MultilabelAUROC(c, average="macro"),
                                 "avg_precision": MultilabelAveragePrecision(c, average="macro")})
    return MetricCollection({"r2": R2Score(), "mae": MeanAbsoluteError()})


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


class ClipEvaluator:
    """Collects chunk outputs over an epoch, averages them per clip, and scores the clips.

    Chunk outputs are averaged per clip as logits, as in MARBLE (Yuan et al. 2023), or as probabilities (softmax or
    sigmoid), as in CLMR (Spijkervet & Burgoyne 2021); regression values are averaged as they are.
    """

    def __init__(self, task: Task, aggregation: Aggregation = "logits") -> None:
        self.task = task
        self.aggregation = aggregation
        self.reset()

    def reset(self) -> None:
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        self.clips: list[torch.Tensor] = []

    def update(self, output: torch.Tensor, target: torch.Tensor, clip: torch.Tensor) -> None:
        pred = self.task.predict(output.detach())
        if self.aggregation == "probs" and self.task.kind != "regression":
            pred = pred.softmax(dim=-1) if self.task.kind == "multiclass" else pred.sigmoid()
        self.outputs.append(pred.cpu())
        self.targets.append(target.detach().cpu())
        self.clips.append(clip.detach().cpu())

    def compute(self) -> dict[str, float]:
        clip = torch.cat(self.clips)
        preds, clips = aggregate_by_clip(torch.cat(self.outputs), clip)
        first = {int(c): i for i, c in reversed(list(enumerate(clip.tolist())))}
        targets = torch.cat(self.targets)[[first[int(c)] for c in clips]]
        if self.task.kind == "multilabel":
            targets = targets.long()
        metrics = task_metrics(self.task)
        scores = {k: float(v) for k, v in metrics(preds, targets).items()}
        if is_key_task(self.task):
            names = self.task.classes
            pairs = zip(targets.tolist(), preds.argmax(dim=1).tolist())
            scores["weighted_key_score"] = float(np.mean([weighted_key_score(names[t], names[p]) for t, p in pairs]))
        self.reset()
        return scores


class ClipScoring(ABC):
    """Validation and test hooks shared by probes and supervised models: chunk outputs are collected by a
    ClipEvaluator and logged as `val/<metric>` and `test/<metric>` at clip level. A subclass provides
    `evaluator` and `chunk_outputs(batch) → (output, target, clip)`."""

    evaluator: ClipEvaluator

    @abstractmethod
    def chunk_outputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(output (B, C), target, clip (B,)) of a batch of chunks: each model knows where its inputs are."""

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.evaluator.update(*self.chunk_outputs(batch))

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.evaluator.update(*self.chunk_outputs(batch))

    def on_validation_epoch_end(self) -> None:
        self.log_dict({f"val/{k}": v for k, v in self.evaluator.compute().items()})  # type: ignore[attr-defined]

    def on_test_epoch_end(self) -> None:
        self.log_dict({f"test/{k}": v for k, v in self.evaluator.compute().items()})  # type: ignore[attr-defined]
