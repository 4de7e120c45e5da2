"""The unlabeled-scale axis of a comparison: the same method pre-trained on more or less unlabeled audio, probed at
every label fraction; a table and a plot of the probe metric against the hours of unlabeled audio.

An encoder's pre-training data is on record in its export (`encoder.json` → meta.data: source, clips, hours, written
by `callbacks.ExportEncoder`); pre-train one method on growing shares of a pool with `--data.pool_fraction` and
list the exports in `compare --encoders`.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ssl_mir.evaluation import plotting
from ssl_mir.evaluation.baselines import HANDCRAFTED, RANDOM_PREFIX, SUPERVISED_PREFIX
from ssl_mir.evaluation.budgets import order
from ssl_mir.evaluation.report import Summary, cell, encoder_label
from ssl_mir.export import read_config

Scale = dict[str, tuple[str, float]]  # encoder label → (method and architecture, unlabeled hours)


def pretraining_scale(specs: list[str], layer: str = "output") -> Scale:
    """The exported encoders among `specs` whose method and architecture were pre-trained on at least two
    different amounts of unlabeled audio: label (of the probed `layer`) → (method · architecture, hours)."""
    found: Scale = {}
    for spec in specs:
        if spec in HANDCRAFTED or spec.startswith((RANDOM_PREFIX, SUPERVISED_PREFIX)):
            continue
        config = read_config(spec)
        meta = config.get("meta", {})
        if "data" in meta and "method" in meta:
            found[encoder_label(spec, layer)] = (f"{meta['method']} · {config['class_path'].rsplit('.', 1)[-1]}",
                                          float(meta["data"]["hours"]))
    groups = {g for g, _ in found.values()}
    keep = {g for g in groups if len({h for gg, h in found.values() if gg == g}) > 1}
    return {label: v for label, v in found.items() if v[0] in keep}


def scale_table(stats: Summary, scale: Scale, task: str, metric: str) -> str:
    """Rows: method and unlabeled hours; columns: label budgets."""
    fractions = sorted({f for _, t, f, m in stats if (t, m) == (task, metric)}, key=order)
    lines = [f"### {task}: {metric} against unlabeled hours", "",
             "| method | unlabeled hours | " + " | ".join(f.text for f in fractions) + " |",
             "|---|---:|" + "---:|" * len(fractions)]
    for label, (group, hours) in sorted(scale.items(), key=lambda kv: kv[1]):
        cells = [cell(*stats[(label, task, f, metric)]) if (label, task, f, metric) in stats else "-"
                 for f in fractions]
        lines.append(f"| {group} | {hours:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_scale(stats: Summary, scale: Scale, panels: list[tuple[str, str]], path: Path) -> Figure:
    """One panel per (task, metric): the metric against unlabeled hours (log axis), one line per method and label
    budget, ±1 std error bars over seeds. Saved to `path` and returned."""
    figure, axes = plotting.panels(len(panels))
    for ax, (task, metric) in zip(axes, panels):
        fractions = sorted({f for _, t, f, m in stats if (t, m) == (task, metric)}, key=order)
        for group in sorted({g for g, _ in scale.values()}):
            members = sorted((h, label) for label, (g, h) in scale.items() if g == group)
            for f in fractions:
                points = [(h, stats[(label, task, f, metric)]) for h, label in members
                          if (label, task, f, metric) in stats]
                ax.errorbar([h for h, _ in points], [s[0] for _, s in points], yerr=[s[1] for _, s in points],
                            label=f"{group}, {f.text} labels", marker="o", capsize=3)
    return plotting.finish(figure, axes, "unlabeled audio in pre-training (hours)", panels, path)
