"""Where the best frozen encoder errs: for each task, the encoder (and layer) with the best mean primary metric at the
largest label fraction is probed again with the sweep's first seed, which reproduces that cell of results.csv, and
its test clips are drawn as a figure: a confusion matrix normalised per true class, its diagonal the per-class
accuracy (multiclass); per-class ROC-AUC (multilabel); predicted against true values (regression).
`supervised:` entries are trained per cell and are not candidates."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from matplotlib.figure import Figure

from ssl_mir.atomic import write_atomic
from ssl_mir.data.labeled import LabeledDataModule
from ssl_mir.data.tasks import Task
from ssl_mir.evaluation.baselines import SUPERVISED_PREFIX
from ssl_mir.evaluation.journal import Result
from ssl_mir.evaluation.metrics import PRIMARY_METRIC
from ssl_mir.evaluation.report import encoder_label
from ssl_mir.evaluation.sweep import Sweep, embeddings_of, probe_subset


class BestCell(NamedTuple):
    encoder: str
    layer: str
    fraction: float
    mean: float


def best_cell(results: list[Result], task: str, metric: str) -> BestCell | None:
    """The frozen encoder and layer with the highest mean `metric` over seeds at the largest fraction of `task`."""
    rows = [r for r in results if r["task"] == task and r["metric"] == metric
            and not str(r["encoder"]).startswith(SUPERVISED_PREFIX)]
    if not rows:
        return None
    rows = [r for r in rows if not r.get("shots")]  # the largest budget is a fraction
    if not rows:
        return None
    fraction = max(float(r["fraction"]) for r in rows)  # type: ignore[arg-type]
    values: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if float(r["fraction"]) == fraction:  # type: ignore[arg-type]
            values.setdefault((str(r["encoder"]), str(r["layer"])), []).append(float(r["value"]))  # type: ignore[arg-type]
    (encoder, layer), scores = max(values.items(), key=lambda kv: np.mean(kv[1]))
    return BestCell(encoder, layer, fraction, float(np.mean(scores)))


def confusion(preds: torch.Tensor, targets: torch.Tensor, n_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class (argmax of (K, C) outputs)."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (targets.long().numpy(), preds.argmax(1).numpy()), 1)
    return counts


def per_class_auc(preds: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """(C,) ROC-AUC per class of (K, C) scores against 0/1 targets; nan where a class has one value in test."""
    from sklearn.metrics import roc_auc_score

    return np.array([roc_auc_score(targets[:, c], preds[:, c]) if 0 < targets[:, c].sum() < len(targets) else np.nan
                     for c in range(targets.shape[1])])


def draw(task: Task, preds: torch.Tensor, targets: torch.Tensor, title: str) -> Figure:
    """The figure of one task's clip predictions."""
    figure = Figure(figsize=(max(6.5, 0.35 * task.num_outputs + 3), max(4.5, 0.3 * task.num_outputs + 2)))
    ax = figure.subplots()
    if task.kind == "multiclass":
        counts = confusion(preds, targets, task.num_outputs)
        rates = counts / np.maximum(counts.sum(1, keepdims=True), 1)
        image = ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
        figure.colorbar(image, ax=ax, label="share of the true class")
        ticks = range(task.num_outputs)
        ax.set_xticks(ticks, task.classes, rotation=90, fontsize="x-small")
        accuracy = [f"{rates[i, i]:.2f}" if counts[i].sum() else "-" for i in ticks]
        ax.set_yticks(ticks, [f"{c} ({a}, n={n})" for c, a, n in zip(task.classes, accuracy, counts.sum(1))],
                      fontsize="x-small")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (per-class accuracy, clips)")
    elif task.kind == "multilabel":
        auc = per_class_auc(preds, targets)
        ax.barh(range(len(auc)), np.nan_to_num(auc), color="tab:blue")
        ax.set_yticks(range(len(auc)), task.classes, fontsize="x-small")
        ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_xlabel("test ROC-AUC per class (0.5: chance)")
    else:
        ax.scatter(targets.numpy(), preds.numpy(), s=10)
        low, high = float(min(targets.min(), preds.min())), float(max(targets.max(), preds.max()))
        ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
    ax.set_title(title, fontsize="small")
    figure.tight_layout()
    return figure


def write_confusions(results: list[Result], sweep: Sweep, data: LabeledDataModule, out: Path,
                     cache_dir: str | Path | None, accelerator: str = "auto") -> dict[str, tuple[BestCell, float, Path]]:
    """`out/confusion_<task>.png` for every task with a frozen encoder in `results`: task → (best cell, the refit's
    test metric, path)."""
    seed = sweep.probe.seeds[0]
    written = {}
    for name in sweep.task_names(data):
        metric = PRIMARY_METRIC[data.task_kinds[name]]
        chosen = best_cell(results, name, metric)
        if chosen is None:
            continue
        task_data = data.derive(target=name, chunk_samples=sweep.chunk_samples(data, name))
        embeddings = embeddings_of({}, chosen.encoder, seed, task_data, accelerator, cache_dir, sweep.probe.pooling)
        subset = task_data.derive(label_fraction=chosen.fraction, seed=seed)
        fit = probe_subset(embeddings, subset, sweep.probe, accelerator, seed)[chosen.layer]
        title = (f"{name}: {encoder_label(chosen.encoder, chosen.layer)}, the best frozen encoder at fraction "
                 f"{chosen.fraction:g}\ntest clips, seed {seed}: {metric} {fit.test[metric]:.3f}")
        figure = draw(subset.target_task, *fit.outputs, title)
        path = out / f"confusion_{name}.png"
        write_atomic(path, lambda tmp, f=figure: f.savefig(tmp, dpi=100, format="png"))
        written[name] = (chosen, fit.test[metric], path)
    return written
