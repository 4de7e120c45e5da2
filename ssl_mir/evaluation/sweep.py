"""The evaluation sweep: encoders × tasks × label budgets × seeds (× layers), one result row per metric, and for a
multiclass task one more with each test clip's outcome (`journal.CORRECT_BY_CLIP`), which intervals resample.

Frozen encoders are embedded once per chunk length, on the full training split, and every fraction, seed and layer
probes a subset of those embeddings; `random:` encoders are re-drawn, and so re-embedded, per seed. A
`supervised:` entry trains that architecture end to end on each labeled subset, reading every training clip in every
epoch: a sweep with one decodes and resamples the corpus once, into a decoded cache (data.decoded_cache), unless the
data names its own cache or streams shards. For a given task, fraction and seed every entry sees the same training
clips (data.fractions), whether the budget is a fraction of the training split or shots per class.
"""

from __future__ import annotations

import logging
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ssl_mir.data.labeled import LabeledDataModule
from ssl_mir.data.manifest import SPLITS
from ssl_mir.encoders.base import Pooling
from ssl_mir.evaluation.baselines import RANDOM_PREFIX, SUPERVISED_PREFIX, check_spec, resolve_encoder
from ssl_mir.evaluation.cache import cached_extract
from ssl_mir.evaluation.embeddings import ChunkEmbeddings
from ssl_mir.evaluation.budgets import Budget, budgets
from ssl_mir.evaluation.journal import CORRECT_BY_CLIP, Journal, Result
from ssl_mir.evaluation.probe import ProbeConfig, ProbeFit, probe_fits
from ssl_mir.evaluation.supervised import SupervisedBudget, train_supervised

Outputs = tuple[torch.Tensor, torch.Tensor]  # clip predictions (K, C) and targets (K,) of the test split

log = logging.getLogger(__name__)


@dataclass
class Sweep:
    """What to evaluate, and how.

    Args:
        encoders: exported encoder folders; "random:FOLDER" is that architecture with random weights (per seed);
            "supervised:FOLDER" is that architecture trained end to end on each labeled subset; "mfcc" and "chroma"
            are the MFCC- and chroma-statistics baselines.
        fractions: label fractions of the training split, each in (0, 1].
        tasks: the tasks to evaluate (default: every task of the data).
        chunk_seconds: per task, a chunk length shorter than data.chunk_samples (default: that length).
        probe: the probe protocol; its seeds are the sweep's seeds.
        supervised: how `supervised:` entries are trained.
        shots: label budgets in clips per class of a multiclass task (tasks of other kinds get fractions only).
    """

    encoders: list[str]
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0])
    tasks: list[str] | None = None
    chunk_seconds: dict[str, float] = field(default_factory=dict)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    supervised: SupervisedBudget = field(default_factory=SupervisedBudget)
    shots: list[int] = field(default_factory=list)

    def check(self, data: LabeledDataModule) -> None:
        """Every error a sweep can know of before it spends any time: bad encoder specs, fractions and task names,
        label columns missing from the manifest, unknown labels, and augmentation nothing would use (the
        augmentation policy already ran when the data was configured)."""
        for spec in self.encoders:
            check_spec(spec)
        if data.augment is not None and not any(s.startswith(SUPERVISED_PREFIX) for s in self.encoders):
            raise ValueError("data.augment is set, but probes embed un-augmented chunks and no 'supervised:' entry "
                             "trains end to end here; remove data.augment")
        for f in self.fractions:
            if not 0.0 < f <= 1.0:
                raise ValueError(f"fractions: {f} is not in (0, 1]")
        for n in self.shots:
            if n < 1:
                raise ValueError(f"shots: {n} is not a number of clips per class (at least 1)")
        for name in [*(self.tasks or []), *self.chunk_seconds]:
            if name not in data.task_kinds:
                raise ValueError(f"task '{name}' is not one of data.tasks {list(data.task_kinds)}")
        data.targets  # reads every label of every split: raises naming the file and label

    def task_names(self, data: LabeledDataModule) -> list[str]:
        return list(self.tasks or data.task_kinds)

    def budgets(self, kind: str) -> list[Budget]:
        """The label budgets of a task of this kind: shots apply to multiclass tasks only."""
        return budgets(self.fractions, self.shots if kind == "multiclass" else [])

    def chunk_samples(self, data: LabeledDataModule, task: str) -> int:
        seconds = self.chunk_seconds.get(task)
        return data.chunk_samples if seconds is None else round(seconds * data.sample_rate)


def run_sweep(sweep: Sweep, data: LabeledDataModule, accelerator: str = "auto", precision: str | int | None = None,
              cache_dir: str | Path | None = None, show_progress: bool = True,
              journal: Journal | None = None) -> list[Result]:
    """Evaluate every entry of `sweep` on `data`; returns one row per encoder, task, fraction, seed, layer, metric.
    With a `journal`, each cell is recorded as it finishes and the cells it already holds are not computed again.
    Decoded audio, when `supervised:` entries call for it, is kept under `cache_dir`/decoded (or for this call only
    when `cache_dir` is None)."""
    sweep.check(data)
    with decoded_once(sweep, data, cache_dir) as data:
        return _run_cells(sweep, data, accelerator, precision, cache_dir, show_progress, journal)


def decodes_once(sweep: Sweep, data: LabeledDataModule) -> bool:
    """Whether the sweep reads `data` through a decoded cache of its own: when it trains `supervised:` entries (and
    `supervised.decode_once`) and the data reads files with no cache of its own. Such a cell otherwise decodes and
    resamples each training crop in every epoch."""
    return (sweep.supervised.decode_once and data.decoded_cache is None and data.streaming is None
            and any(s.startswith(SUPERVISED_PREFIX) for s in sweep.encoders))


@contextmanager
def decoded_once(sweep: Sweep, data: LabeledDataModule, cache_dir: str | Path | None) -> Iterator[LabeledDataModule]:
    """`data`, read through a decoded cache (under `cache_dir`, or a scratch folder) when `decodes_once`; every entry
    of the sweep then reads it."""
    if not decodes_once(sweep, data):
        yield data
        return
    with tempfile.TemporaryDirectory(prefix="ssl_mir_decoded_") as scratch:
        folder = Path(cache_dir) / "decoded" if cache_dir is not None else Path(scratch)
        log.info("supervised entries read every training clip in every epoch: decoding the corpus once, into %s",
                 folder)
        yield data.with_decoded_cache(str(folder))


def _run_cells(sweep: Sweep, data: LabeledDataModule, accelerator: str, precision: str | int | None,
               cache_dir: str | Path | None, show_progress: bool, journal: Journal | None) -> list[Result]:
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # hundreds of small fits: keep the console quiet
    tasks = sweep.task_names(data)
    seeds = sweep.probe.seeds
    results: list[Result] = []
    memo: dict[tuple[str, int | None, int], dict[str, ChunkEmbeddings]] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    total = sum(len(sweep.encoders) * len(sweep.budgets(data.task_kinds[t])) * len(seeds) for t in tasks)
    with Progress(*columns, disable=not show_progress) as progress:
        bar = progress.add_task("sweep", total=total)
        for name in tasks:
            task_data = data.derive(target=name, chunk_samples=sweep.chunk_samples(data, name))
            for spec in sweep.encoders:
                for seed, budget in _grid(seeds, sweep.budgets(task_data.target_task.kind)):
                    progress.update(bar, description=f"{spec} · {name} · {budget.text} · seed {seed}")
                    if journal is not None and (spec, name, budget, seed) in journal.cells:
                        results.extend(journal.cells[spec, name, budget, seed])
                        progress.advance(bar)
                        continue
                    subset = budget.subset(task_data, seed)
                    if spec.startswith(SUPERVISED_PREFIX):
                        encoder = resolve_encoder(spec, seed, data.sample_rate)
                        fits = {"output": train_supervised(encoder, subset, sweep.supervised, accelerator, precision,
                                                           seed)}
                    else:
                        embeddings = embeddings_of(memo, spec, seed, task_data, accelerator, cache_dir,
                                                   sweep.probe.pooling)
                        fits = {layer: (fit.test, fit.outputs) for layer, fit in
                                probe_subset(embeddings, subset, sweep.probe, accelerator, seed).items()}
                    cell = cell_rows(spec, name, budget, seed, fits, task_data.target_task.kind)
                    if journal is not None:
                        journal.add(cell)
                    results.extend(cell)
                    progress.advance(bar)
                    log.info("cell %d of %d: %s on %s, %s, seed %d: %s", int(progress.tasks[0].completed),
                             total, spec, name, budget.text, seed, {k: v[0] for k, v in fits.items()})
    return results


def cell_rows(spec: str, task: str, budget: Budget, seed: int, fits: dict[str, tuple[dict[str, float], Outputs]],
              kind: str) -> list[Result]:
    """One cell's result rows: each layer's metrics, and for a multiclass task each test clip's outcome."""
    rows: list[Result] = []
    for layer, (scores, (preds, targets)) in fits.items():
        values: dict[str, object] = dict(scores)
        if kind == "multiclass":
            values[CORRECT_BY_CLIP] = "".join("1" if c else "0" for c in (preds.argmax(dim=1) == targets).tolist())
        rows += [{"encoder": spec, "task": task, "fraction": budget.fraction, "shots": budget.shots, "seed": seed,
                  "layer": layer, "metric": k, "value": v} for k, v in values.items()]
    return rows


def _grid(seeds: list[int], budgets: list[Budget]) -> Iterator[tuple[int, Budget]]:
    """Seeds outermost, so that a random encoder is drawn once per seed and serves every budget."""
    for seed in seeds:
        for budget in budgets:
            yield seed, budget


def embeddings_of(memo: dict, spec: str, seed: int, data: LabeledDataModule, accelerator: str,
                cache_dir: str | Path | None, pooling: Pooling) -> dict[str, ChunkEmbeddings]:
    """Chunk embeddings of every split (the full training split), computed once per encoder draw and chunk length."""
    random = spec.startswith(RANDOM_PREFIX)
    key = (spec, seed if random else None, data.chunk_samples)
    if key not in memo:
        if random:  # one draw of random weights is kept at a time
            for old in [k for k in memo if k[0] == spec]:
                del memo[old]
        encoder = resolve_encoder(spec, seed, data.sample_rate)
        if encoder.sample_rate != data.sample_rate:
            raise ValueError(f"{spec}: encoder expects {encoder.sample_rate} Hz but data.sample_rate is "
                             f"{data.sample_rate}; set data.sample_rate: {encoder.sample_rate}")
        device = "cpu" if accelerator == "cpu" else None
        full = data.derive(label_fraction=1.0)
        memo[key] = {s: cached_extract(encoder, full.chunk_dataset(s), cache_dir, data.batch_size, data.num_workers,
                                       device, pooling) for s in SPLITS}
    return memo[key]


def probe_subset(embeddings: dict[str, ChunkEmbeddings], subset: LabeledDataModule, config: ProbeConfig,
                 accelerator: str, seed: int) -> dict[str, ProbeFit]:
    """Probe the subset's training clips at every configured layer: layer name → its fit."""
    name = subset.target_task.name
    split_embeddings = {**embeddings, "train": embeddings["train"].select(subset.train_indices)}
    targets = {s: subset.split_targets(s)[name] for s in SPLITS}
    return probe_fits(subset.target_task, split_embeddings, targets, config, accelerator, seed)
