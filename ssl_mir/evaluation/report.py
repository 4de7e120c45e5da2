"""Probe every encoder on every task and report the clip-level test metrics as a table, CSV and JSON."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ssl_mir.data.datamodules import SPLITS, LabeledDataModule
from ssl_mir.evaluation.baselines import RANDOM_PREFIX, resolve_encoder
from ssl_mir.evaluation.cache import cached_extract
from ssl_mir.evaluation.probe import ProbeConfig, fit_probe

log = logging.getLogger(__name__)
Result = dict[str, object]  # encoder, task, seed, metric, value
FIELDS = ["encoder", "task", "seed", "metric", "value"]


def probe_encoders(encoders: list[str], data: LabeledDataModule, config: ProbeConfig,
                   accelerator: str = "auto", cache_dir: str | Path | None = None) -> list[Result]:
    """Probe every encoder on every task with every seed.

    Embeddings are extracted once per encoder and split and shared by every task and seed; a `random:` encoder is
    re-initialised, and so re-embedded, for each seed. With `cache_dir`, embeddings are also kept on disk across
    runs (evaluation.cache).
    """
    results: list[Result] = []
    device = "cpu" if accelerator == "cpu" else None
    for spec in encoders:
        embeddings = None
        for seed in config.seeds:
            if embeddings is None or spec.startswith(RANDOM_PREFIX):
                encoder = resolve_encoder(spec, seed, data.sample_rate)
                if encoder.sample_rate != data.sample_rate:
                    raise ValueError(f"{spec}: encoder expects {encoder.sample_rate} Hz but data.sample_rate is "
                                     f"{data.sample_rate}; set data.sample_rate: {encoder.sample_rate}")
                embeddings = {s: cached_extract(encoder, data.chunk_dataset(s), cache_dir, data.batch_size,
                                                data.num_workers, device) for s in SPLITS}
            for name, task in data.tasks.items():
                clip_targets = {s: data.split_targets(s)[name] for s in SPLITS}
                scores = fit_probe(task, embeddings, clip_targets, config, accelerator, seed)
                log.info("%s on %s, seed %d: %s", spec, name, seed, scores)
                results.extend({"encoder": spec, "task": name, "seed": seed, "metric": k, "value": v}
                               for k, v in scores.items())
    return results


def write_results(results: list[Result], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(results)
    (out / "results.json").write_text(json.dumps(results, indent=2))


def encoder_label(spec: str) -> str:
    """A short column name: the run folder of an artifact ('runs/demo/simclr/encoder' → 'simclr')."""
    random = spec.startswith(RANDOM_PREFIX)
    path = Path(spec.removeprefix(RANDOM_PREFIX))
    name = path.parent.name if path.name == "encoder" and path.parent.name else path.name
    return f"random({name})" if random else name


def summarise(results: list[Result]) -> dict[tuple[str, str, str], tuple[float, float, int]]:
    """(encoder, task, metric) → (mean, std, number of seeds)."""
    values: dict[tuple[str, str, str], list[float]] = {}
    for r in results:
        values.setdefault((str(r["encoder"]), str(r["task"]), str(r["metric"])), []).append(float(r["value"]))
    return {k: (float(np.mean(v)), float(np.std(v)), len(v)) for k, v in values.items()}


def print_table(results: list[Result], console: Console | None = None) -> None:
    """One row per task and metric, one column per encoder, mean ± std over seeds; the best mean of each row in
    bold (lowest for MAE)."""
    stats = summarise(results)
    rows = list(dict.fromkeys((t, m) for _, t, m in stats))
    encoders = list(dict.fromkeys(e for e, _, _ in stats))
    n_seeds = max(n for _, _, n in stats.values())
    table = Table(title=f"Probes on frozen encoders: clip-level test metrics ({n_seeds} seed(s))")
    table.add_column("task")
    table.add_column("metric")
    for e in encoders:
        table.add_column(encoder_label(e), justify="right")
    for task, metric in rows:
        means = [stats[(e, task, metric)][0] for e in encoders if (e, task, metric) in stats]
        best = min(means) if metric == "mae" else max(means)
        cells = []
        for e in encoders:
            if (e, task, metric) not in stats:
                cells.append("-")
                continue
            mean, std, n = stats[(e, task, metric)]
            text = f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"
            cells.append(f"[bold]{text}[/bold]" if mean == best else text)
        table.add_row(task, metric, *cells)
    (console or Console()).print(table)
