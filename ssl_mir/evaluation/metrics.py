"""Metrics per task kind (torchmetrics) and clip-level aggregation of chunk outputs."""

from __future__ import annotations

import torch
from torchmetrics import MeanAbsoluteError, MetricCollection, R2Score
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MultilabelAUROC,
    MultilabelAveragePrecision,
)

from ssl_mir.data.tasks import Task


def task_metrics(task: Task) -> MetricCollection:
    """Accuracy and macro-F1 (multiclass); macro ROC-AUC and macro AP (multilabel); R² and MAE (regression)."""
    if task.kind == "multiclass":
        c = task.num_outputs
        return MetricCollection({"accuracy": MulticlassAccuracy(c, average="micro"),
                                 "macro_f1": MulticlassF1Score(c, average="macro")})
    if task.kind == "multilabel":
        c = task.num_outputs
        return MetricCollection({"roc_auc": MultilabelAUROC(c, average="macro"),
                                 "avg_precision": MultilabelAveragePrecision(c, average="macro")})
    return MetricCollection({"r2": R2Score(), "mae": MeanAbsoluteError()})


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

    Chunk outputs are averaged as logits (regression: as values) before the metric, the clip-level aggregation of
    MARBLE (Yuan et al. 2023).
    """

    def __init__(self, task: Task) -> None:
        self.task = task
        self.reset()

    def reset(self) -> None:
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        self.clips: list[torch.Tensor] = []

    def update(self, output: torch.Tensor, target: torch.Tensor, clip: torch.Tensor) -> None:
        self.outputs.append(self.task.predict(output.detach()).cpu())
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
        self.reset()
        return scores
