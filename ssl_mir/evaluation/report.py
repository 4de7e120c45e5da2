"""Sweep results as files and tables: results.csv / results.json, mean ± std summaries, the console table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ssl_mir.atomic import write_text_atomic
from ssl_mir.evaluation.baselines import RANDOM_PREFIX, SUPERVISED_PREFIX
from ssl_mir.evaluation.budgets import Budget, budget_of, order
from ssl_mir.evaluation.journal import CORRECT_BY_CLIP, Result, write_rows

LOWER_IS_BETTER = frozenset({"mae"})
Summary = dict[tuple[str, str, Budget, str], tuple[float, float, int]]  # (label, task, budget, metric) → mean, std, n


def write_results(results: list[Result], out: Path) -> None:
    """results.csv (one row per encoder, task, label budget, seed, layer and metric) and the same as results.json."""
    write_rows(results, out / "results.csv")
    write_text_atomic(out / "results.json", json.dumps(results, indent=2))


def encoder_label(spec: str, layer: str = "output") -> str:
    """A short name: the run folder of an artifact ('runs/demo/simclr/encoder' → 'simclr'), the baseline kind
    around it ('random(simclr)', 'supervised(simclr)'), and the layer unless it is the output ('simclr@3')."""
    name = spec
    for prefix in (RANDOM_PREFIX, SUPERVISED_PREFIX, ""):
        if spec.startswith(prefix):
            path = Path(spec.removeprefix(prefix))
            name = path.parent.name if path.name == "encoder" and path.parent.name else path.name
            name = f"{prefix[:-1]}({name})" if prefix else name
            break
    return name if layer == "output" else f"{name}@{layer}"


def best(metric: str, values: list[float]) -> float:
    return min(values) if metric in LOWER_IS_BETTER else max(values)


def summarise(results: list[Result]) -> Summary:
    """(encoder label, task, budget, metric) → (mean, std, number of seeds), in first-seen order; per-clip outcomes
    are left to `intervals`."""
    values: dict[tuple[str, str, Budget, str], list[float]] = {}
    for r in results:
        if r["metric"] == CORRECT_BY_CLIP:
            continue
        key = (encoder_label(str(r["encoder"]), str(r["layer"])), str(r["task"]), budget_of(r), str(r["metric"]))
        values.setdefault(key, []).append(float(r["value"]))  # type: ignore[arg-type]
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in values.items()}


def cell(mean: float, std: float, n: int) -> str:
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def print_table(results: list[Result], console: Console | None = None) -> None:
    """One row per task, label budget and metric, one column per encoder, mean ± std over seeds; the best of each
    row in bold."""
    stats = summarise(results)
    tasks = list(dict.fromkeys(t for _, t, _, _ in stats))
    rows = sorted(dict.fromkeys((t, b, m) for _, t, b, m in stats), key=lambda r: (tasks.index(r[0]), order(r[1])))
    labels = list(dict.fromkeys(e for e, _, _, _ in stats))
    n_seeds = max(n for _, _, n in stats.values())
    table = Table(title=f"Probes on frozen encoders: clip-level test metrics ({n_seeds} seed(s))")
    for column in ("task", "labels", "metric"):
        table.add_column(column)
    for label in labels:
        table.add_column(label, justify="right")
    for task, budget, metric in rows:
        top = best(metric, [stats[(e, task, budget, metric)][0] for e in labels if (e, task, budget, metric) in stats])
        cells = []
        for label in labels:
            if (label, task, budget, metric) not in stats:
                cells.append("-")
                continue
            text = cell(*stats[(label, task, budget, metric)])
            cells.append(f"[bold]{text}[/bold]" if stats[(label, task, budget, metric)][0] == top else text)
        table.add_row(task, budget.text, metric, *cells)
    (console or Console(width=None if sys.stdout.isatty() else 160)).print(table)  # logs: no wrapping at 80
