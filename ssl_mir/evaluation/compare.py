"""The label-efficiency comparison's outputs: report.md (the protocol stated; mean ± std per label budget, best
marked; for multiclass tasks each cell's bootstrap interval over test clips and each encoder's paired difference
from each baseline, `intervals`) and label_efficiency.png (metric against label fraction, and against shots per
class when there are shots, one line per encoder, error bars over seeds); with one method pre-trained on several
amounts of unlabeled audio or for several times, also their tables and pretraining_hours.png / pretraining_minutes.png
(`scale`)."""

from __future__ import annotations

import platform
from pathlib import Path

import torch
from matplotlib.figure import Figure

import ssl_mir
from ssl_mir.atomic import write_text_atomic
from ssl_mir.data.labeled import LabeledDataModule
from ssl_mir.data.manifest import SPLITS
from ssl_mir.encoders.chroma import ChromaStats
from ssl_mir.encoders.mfcc import MFCCStats
from ssl_mir.evaluation import plotting
from ssl_mir.evaluation.metrics import PRIMARY_METRIC
from ssl_mir.evaluation.probe_training import MIN_STEPS_PER_EPOCH
from ssl_mir.evaluation.budgets import order
from ssl_mir.evaluation.intervals import interval_tables
from ssl_mir.evaluation.report import Summary, best, cell, summarise, write_results
from ssl_mir.evaluation.scale import AXES, plot_scale, pretraining_scale, scale_table
from ssl_mir.evaluation.supervised import SupervisedBudget
from ssl_mir.evaluation.sweep import Result, Sweep, decodes_once

Series = dict[str, tuple[list[float], list[float], list[float]]]  # encoder label → budgets (x), means, stds


def write_comparison(results: list[Result], sweep: Sweep, data: LabeledDataModule, out: Path) -> None:
    """results.csv / results.json, report.md and label_efficiency.png in `out`."""
    write_results(results, out)
    stats = summarise(results)
    report = [protocol(sweep, data), *(markdown_table(stats, t, m) for t, m in _task_metrics(stats)),
              "## Intervals and paired differences", *interval_tables(results)]
    panels = [(t, PRIMARY_METRIC[data.task_kinds[t]]) for t in sweep.task_names(data)]
    layer = "best" if sweep.probe.layers == "best" else "output"
    for axis, (heading, _, _) in AXES.items():  # one method pre-trained on several amounts of audio, or for several times
        scale = pretraining_scale(sweep.encoders, layer, axis)
        if scale:
            report += [f"## {heading}", *(scale_table(stats, scale, t, m, axis) for t, m in panels)]
            plot_scale(stats, scale, panels, out / f"pretraining_{axis}.png", axis)
    write_text_atomic(out / "report.md", "\n\n".join(report) + "\n")
    plot(stats, panels, out / "label_efficiency.png")
    if sweep.shots:
        plot(stats, [p for p in panels if data.task_kinds[p[0]] == "multiclass"], out / "label_efficiency_shots.png",
             shots=True)


def _task_metrics(stats: Summary) -> list[tuple[str, str]]:
    return list(dict.fromkeys((t, m) for _, t, _, m in stats))


def markdown_table(stats: Summary, task: str, metric: str) -> str:
    """Rows: encoders; columns: label budgets; the best mean of each column in bold."""
    fractions = sorted({f for _, t, f, m in stats if (t, m) == (task, metric)}, key=order)
    labels = list(dict.fromkeys(e for e, t, _, m in stats if (t, m) == (task, metric)))
    lines = [f"### {task}: {metric}", "", "| encoder | " + " | ".join(f.text for f in fractions) + " |",
             "|---|" + "---:|" * len(fractions)]
    tops = {f: best(metric, [stats[(e, task, f, metric)][0] for e in labels if (e, task, f, metric) in stats])
            for f in fractions}
    for label in labels:
        cells = []
        for f in fractions:
            s = stats.get((label, task, f, metric))
            cells.append("-" if s is None else f"**{cell(*s)}**" if s[0] == tops[f] else cell(*s))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def series(stats: Summary, task: str, metric: str, shots: bool = False) -> Series:
    """The plot's data: per encoder, its fractions (or with `shots`, its shots per class) in increasing order with
    mean and std over seeds."""
    out: Series = {}
    for (label, t, b, m), (mean, std, _) in sorted(stats.items(), key=lambda kv: order(kv[0][2])):
        if (t, m) == (task, metric) and (b.shots > 0) == shots:
            xs, means, stds = out.setdefault(label, ([], [], []))
            xs.append(b.shots if shots else b.fraction)
            means.append(mean)
            stds.append(std)
    return out


def plot(stats: Summary, panels: list[tuple[str, str]], path: Path, shots: bool = False) -> Figure:
    """One panel per (task, metric): the metric against the label fraction (or shots per class; log axis), one
    line per encoder with ±1 std error bars over seeds. Saved to `path` and returned."""
    figure, axes = plotting.panels(len(panels))
    for ax, (task, metric) in zip(axes, panels):
        for label, (xs, means, stds) in series(stats, task, metric, shots).items():
            ax.errorbar(xs, means, yerr=stds, label=label, marker="o", capsize=3)
    xlabel = "training clips per class (shots)" if shots else "label fraction of the training split"
    return plotting.finish(figure, axes, xlabel, panels, path)


def augmentation(data: LabeledDataModule) -> str:
    if data.augment is None:
        return "not augmented"
    names = ", ".join(f"{t.name} (p {t.p:g})" for t in data.transforms)
    return f"augmented on the {data.augment.backend} backend by {names}"


POOLING_WORDS = {
    "mean": "the mean, for every encoder and every layer, MFCC and chroma included",
    "mean_std": "mean and standard deviation, for every encoder and every layer, MFCC and chroma included",
    "max": "the maximum, for every encoder and every layer, MFCC and chroma included",
    "encoder": "each encoder's own pooling of its output (the mean; a learnt aggregator for some families; mean and "
               "std of MFCC, Δ, ΔΔ, Choi et al. 2017, Fig. 2a, and of chroma) and the mean of other layers",
}


def stopping(budget: SupervisedBudget) -> str:
    """How a supervised cell stops early, in words ("" when it trains every epoch)."""
    if budget.patience is None:
        return ""
    return f", stopped after {budget.patience} validations in a row without a new best"


def protocol(sweep: Sweep, data: LabeledDataModule, device: str | None = None) -> str:
    """The full protocol of a comparison, in words, with every number that defines it."""
    p, b = sweep.probe, sweep.supervised
    sizes = ", ".join(f"{s} {len(data.splits[s])}" for s in SPLITS)
    chunks = ", ".join(f"{t} {sweep.chunk_samples(data, t) / data.sample_rate:g} s" for t in sweep.task_names(data))
    seed = p.seeds[0]
    kept = {t: [(b, len(b.subset(data.derive(target=t), seed).train_indices))
                for b in sweep.budgets(data.task_kinds[t])] for t in sweep.task_names(data)}
    subsets = "; ".join(f"{t}: " + ", ".join(f"{b.text} → {n}" for b, n in counts) for t, counts in kept.items())
    shots = (f"; shots per class {', '.join(map(str, sweep.shots))} for multiclass tasks (each class's first n of a "
             f"seeded permutation, so the smaller sets are inside the larger; a class with fewer keeps all)"
             if sweep.shots else "")
    n_mfcc = MFCCStats().get_config()["n_mfcc"]
    chroma = ChromaStats().get_config()
    probe_kind = {"linear": "a linear layer (CLMR's linear evaluation)",
                  "mlp": f"an MLP with {p.hidden_dim} hidden units and dropout {p.dropout} (MARBLE)",
                  "knn": f"k-NN, k = {p.k}, cosine similarity (no training)"}[p.kind]
    layers = {"output": "the encoder's output embedding", "each": "every hidden state, one probe each",
              "weighted": "a learnt softmax-weighted sum of all hidden states (MARBLE)",
              "best": "the hidden state whose probe scores best on the validation split (chosen per task, fraction "
                      "and seed; reported as @best)"}[p.layers]
    return f"""# Label-efficiency comparison

## Protocol
- **Data**: `{data.manifest_path}` at {data.sample_rate} Hz; clips per split: {sizes}; {data.n_skipped} bad files
  skipped{"; decoded and resampled once for the sweep, 16-bit (supervised.decode_once)" if decodes_once(sweep, data)
          else ""}. Test metrics are clip level, on the whole test split.
- **Label budgets**: fractions [{", ".join(f"{f:g}" for f in sweep.fractions)}] of the training clips{shots}, drawn
  per seed: stratified per class (multiclass), iterative stratification (multilabel; Sechidis et al. 2011), uniform
  (regression); every class keeps at least one clip; every encoder and baseline gets the same clips for a given task,
  budget and seed; vocabularies come from the full training split. Clips kept (seed {seed}): {subsets}.
- **Seeds**: {", ".join(map(str, p.seeds))}. A seed draws the subset, the probe's initialisation and shuffling, and for
  `random(...)` and `supervised(...)` the network's initial weights. Tables give mean ± std (population) over seeds.
- **Frozen encoders**: evaluation mode, no gradients; every clip cut into non-overlapping chunks ({chunks}); each
  hidden state pooled over time per chunk: {POOLING_WORDS[p.pooling]} (`probe.pooling: {p.pooling}`).
  Embeddings are extracted once per encoder and chunk length from the full training split, and subset per fraction.
- **Probe**: {probe_kind} on {layers}; features standardised with the training subset's mean and std; Adam (lr
  {p.lr}, weight decay {p.weight_decay}), batch {p.batch_size}, epochs of at least {MIN_STEPS_PER_EPOCH} steps, at most
  {p.max_epochs} epochs; ReduceLROnPlateau (×0.1 after {max(1, p.patience // 2)} flat epochs) and early stopping
  (patience {p.patience}) on the validation metric (accuracy, ROC-AUC or R²), the best validation epoch's weights
  kept (MARBLE, Yuan et al. 2023; EVAR, Niizumi et al. 2022). Chunk {p.aggregation} averaged per clip.
- **random(X)**: X's architecture with fresh weights per seed and default input normalisation, probed like the rest.
- **supervised(X)**: X's architecture from fresh weights, trained end to end with a linear head on each subset:
  Adam (lr {b.lr}, weight decay {b.weight_decay}), {b.max_epochs} epochs of at least {b.min_steps_per_epoch} batches of
  {data.batch_size} random crops of the chunk length, {data.sample_rate} Hz, {augmentation(data)};
  validated every {b.val_every_n_epochs} epoch(s){stopping(b)}, the best validation epoch kept;
  chunk logits averaged per clip.
- **mfcc**: {n_mfcc} MFCCs with Δ and ΔΔ, mean and std over time, then the probe above (a multinomial logistic regression
  when linear).
- **chroma**: CQT chroma ({chroma['bins_per_octave']} bins per octave over {chroma['n_octaves']} octaves from C1,
  {chroma['bins_per_octave'] // 12} bins summed per pitch class, each frame divided by its largest class; librosa's
  `chroma_cqt`), mean and std over time (24 numbers), then the same probe: the handcrafted baseline for tonal
  tasks, which MFCCs cannot hear.
- **Software**: ssl_mir {ssl_mir.__version__}, torch {torch.__version__}, Python {platform.python_version()},
  {device or ("CUDA" if torch.cuda.is_available() else "CPU")}.

## Results (mean ± std over {len(p.seeds)} seed(s); best per column in bold)"""
