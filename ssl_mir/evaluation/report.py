"""Probe every encoder on every task and report the clip-level test metrics as a table, CSV and JSON."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ssl_mir.data.datamodules import SPLITS, LabeledDataModule
from ssl_mir.evaluation.baselines import resolve_encoder
from ssl_mir.evaluation.embeddings import extract
from ssl_mir.evaluation.probe import ProbeConfig, fit_linear_probe

log = logging.getLogger(__name__)
Result = dict[str, object]  # encoder, task, metric, value


def probe_encoders(encoders: list[str], data: LabeledDataModule, config: ProbeConfig,
                   accelerator: str = "auto") -> list[Result]:
    """Embeddings are extracted once per encoder and split, then shared by every task's probe."""
    results: list[Result] = []
    for spec in encoders:
        encoder = resolve_encoder(spec, seed=config.seed)
        if encoder.sample_rate != data.sample_rate:
            raise ValueError(f"{spec}: encoder expects {encoder.sample_rate} Hz but data.sample_rate is "
                             f"{data.sample_rate}; set data.sample_rate: {encoder.sample_rate}")
        device = "cpu" if accelerator == "cpu" else None
        embeddings = {s: extract(encoder, data.chunk_dataset(s), data.batch_size, data.num_workers, device)
                      for s in SPLITS}
        for name, task in data.tasks.items():
            clip_targets = {s: data.split_targets(s)[name] for s in SPLITS}
            scores = fit_linear_probe(task, embeddings, clip_targets, config, accelerator)
            log.info("%s on %s: %s", spec, name, scores)
            results.extend({"encoder": spec, "task": name, "metric": k, "value": v} for k, v in scores.items())
    return results


def write_results(results: list[Result], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["encoder", "task", "metric", "value"])
        writer.writeheader()
        writer.writerows(results)
    (out / "results.json").write_text(json.dumps(results, indent=2))


def encoder_label(spec: str) -> str:
    """A short column name: the run folder of an artifact ('runs/demo/simclr/encoder' → 'simclr')."""
    from ssl_mir.evaluation.baselines import RANDOM_PREFIX

    random = spec.startswith(RANDOM_PREFIX)
    path = Path(spec.removeprefix(RANDOM_PREFIX))
    name = path.parent.name if path.name == "encoder" and path.parent.name else path.name
    return f"random({name})" if random else name


def print_table(results: list[Result], console: Console | None = None) -> None:
    """One row per task and metric, one column per encoder; the best of each row in bold (lowest for MAE)."""
    rows = list(dict.fromkeys((str(r["task"]), str(r["metric"])) for r in results))
    encoders = list(dict.fromkeys(str(r["encoder"]) for r in results))
    value = {(r["encoder"], r["task"], r["metric"]): float(r["value"]) for r in results}  # type: ignore[arg-type]
    table = Table(title="Linear probe on frozen encoders: clip-level test metrics")
    table.add_column("task")
    table.add_column("metric")
    for e in encoders:
        table.add_column(encoder_label(e), justify="right")
    for task, metric in rows:
        present = [value[(e, task, metric)] for e in encoders if (e, task, metric) in value]
        best = min(present) if metric == "mae" else max(present)
        cells = []
        for e in encoders:
            v = value.get((e, task, metric))
            text = "-" if v is None else f"{v:.3f}"
            cells.append(f"[bold]{text}[/bold]" if v == best else text)
        table.add_row(task, metric, *cells)
    (console or Console()).print(table)
