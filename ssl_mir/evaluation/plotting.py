"""What the comparison's plots share: one panel per task, log x axis, files only (matplotlib's object API, no
pyplot, no GUI backend)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ssl_mir.atomic import write_atomic


def panels(n: int) -> tuple[Figure, list[Axes]]:
    """A figure of `n` panels side by side."""
    figure = Figure(figsize=(5.5 * n, 4))
    return figure, list(figure.subplots(1, n, squeeze=False)[0])


def finish(figure: Figure, axes: list[Axes], xlabel: str, titles: list[tuple[str, str]], path: Path) -> Figure:
    """Log x axis, labels, (task, metric) titles, grid and legend on every panel; saved to `path` and returned."""
    for ax, (task, metric) in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"test {metric} (clip level)")
        ax.set_title(task)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    write_atomic(path, lambda tmp: figure.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png"))
    return figure
