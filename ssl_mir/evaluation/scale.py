"""The pre-training axes of a comparison: the same method pre-trained on more or less unlabeled audio (hours), or for
more or less time on the same pool (minutes), probed at every label budget; a table and a plot of the probe metric
against each axis.

An encoder's pre-training is on record in its export (`encoder.json` → meta: `data` with source, clips and hours;
`train_minutes`, the training time summed over resumed runs; both written by `callbacks.ExportEncoder`). Pre-train
one method on growing shares of a pool with `--data.pool_fraction`, or for growing `--trainer.max_time` (a run resumed
with `--ckpt_path` goes on counting), and list the exports in `compare --encoders`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from matplotlib.figure import Figure

from ssl_mir.evaluation import plotting
from ssl_mir.evaluation.baselines import HANDCRAFTED, RANDOM_PREFIX, SUPERVISED_PREFIX
from ssl_mir.evaluation.budgets import order
from ssl_mir.evaluation.report import Summary, cell, encoder_label
from ssl_mir.export import read_config

Axis = Literal["hours", "minutes"]
Scale = dict[str, tuple[str, float]]  # encoder label → (the group its points share, position on the axis)
AXES: dict[Axis, tuple[str, str, str]] = {  # axis → (report heading, table column, plot axis label)
    "hours": ("Unlabeled scale", "unlabeled hours", "unlabeled audio in pre-training (hours)"),
    "minutes": ("Pre-training compute", "pre-training minutes", "pre-training time (minutes)"),
}


def pretraining_scale(specs: list[str], layer: str = "output", axis: Axis = "hours") -> Scale:
    """The exported encoders among `specs` that lie on `axis` with at least one other point of their group: label (of
    the probed `layer`) → (group, position). On "hours" a group is a method and architecture; on "minutes" it is also
    the pool, so that only the training time differs along a line."""
    found: Scale = {}
    for spec in specs:
        if spec in HANDCRAFTED or spec.startswith((RANDOM_PREFIX, SUPERVISED_PREFIX)):
            continue
        config = read_config(spec)
        meta = config.get("meta", {})
        if "data" not in meta or "method" not in meta or (axis == "minutes" and "train_minutes" not in meta):
            continue
        group = f"{meta['method']} · {config['class_path'].rsplit('.', 1)[-1]}"
        hours = float(meta["data"]["hours"])
        if axis == "hours":
            found[encoder_label(spec, layer)] = (group, hours)
        else:
            found[encoder_label(spec, layer)] = (f"{group}, {hours:.1f} h", float(meta["train_minutes"]))
    groups = {g for g, _ in found.values()}
    keep = {g for g in groups if len({x for gg, x in found.values() if gg == g}) > 1}
    return {label: v for label, v in found.items() if v[0] in keep}


def scale_table(stats: Summary, scale: Scale, task: str, metric: str, axis: Axis = "hours") -> str:
    """Rows: group and position on the axis; columns: label budgets."""
    fractions = sorted({f for _, t, f, m in stats if (t, m) == (task, metric)}, key=order)
    unit = AXES[axis][1]
    lines = [f"### {task}: {metric} against {unit}", "",
             f"| method | {unit} | " + " | ".join(f.text for f in fractions) + " |",
             "|---|---:|" + "---:|" * len(fractions)]
    for label, (group, x) in sorted(scale.items(), key=lambda kv: kv[1]):
        cells = [cell(*stats[(label, task, f, metric)]) if (label, task, f, metric) in stats else "-"
                 for f in fractions]
        lines.append(f"| {group} | {x:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_scale(stats: Summary, scale: Scale, panels: list[tuple[str, str]], path: Path,
               axis: Axis = "hours") -> Figure:
    """One panel per (task, metric): the metric against the axis (log scale), one line per group and label budget,
    ±1 std error bars over seeds. Saved to `path` and returned."""
    figure, axes = plotting.panels(len(panels))
    for ax, (task, metric) in zip(axes, panels):
        fractions = sorted({f for _, t, f, m in stats if (t, m) == (task, metric)}, key=order)
        for group in sorted({g for g, _ in scale.values()}):
            members = sorted((x, label) for label, (g, x) in scale.items() if g == group)
            for f in fractions:
                points = [(x, stats[(label, task, f, metric)]) for x, label in members
                          if (label, task, f, metric) in stats]
                ax.errorbar([x for x, _ in points], [s[0] for _, s in points], yerr=[s[1] for _, s in points],
                            label=f"{group}, {f.text} labels", marker="o", capsize=3)
    return plotting.finish(figure, axes, AXES[axis][2], panels, path)
