"""A sweep that keeps its work: results.csv is written cell by cell, and a re-run skips the cells it holds.

A cell is one encoder × task × label budget × seed. As soon as it finishes, `<out>/results.csv` is rewritten with
it (`atomic.write_atomic`: whole or not at all, a few thousand rows at most), so stopping `compare` (Ctrl-C, a
pre-empted job) loses at most the cell in progress. Running the
same command again reads the file back and computes only the missing cells. `<out>/sweep.json` records what the
rows depend on besides the cell (the data, the probe protocol, the supervised budget, chunk lengths, precision): a
re-run whose settings differ is refused rather than mixed with old rows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ssl_mir.atomic import write_atomic, write_text_atomic
from ssl_mir.evaluation.budgets import Budget, budget_of

Result = dict[str, object]
CORRECT_BY_CLIP = "correct_by_clip"  # a multiclass cell's per-clip outcomes: '1' or '0' per test clip, in clip order
FIELDS = ["encoder", "task", "fraction", "shots", "seed", "layer", "metric", "value"]
Cell = tuple[str, str, Budget, int]  # encoder, task, label budget, seed


def cell_of(row: Result) -> Cell:
    return str(row["encoder"]), str(row["task"]), budget_of(row), int(row["seed"])  # type: ignore[arg-type]


class Journal:
    """The finished cells of one sweep in `out`.

    Args:
        out: the sweep's output folder.
        settings: everything besides the cell that its results depend on (JSON-serialisable).
    """

    def __init__(self, out: str | Path, settings: dict[str, Any]) -> None:
        self.out = Path(out)
        self.path = self.out / "results.csv"
        self.cells: dict[Cell, list[Result]] = {}  # finished cells and their rows
        self.recorded = self.out / "sweep.json"
        self.settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        if self.recorded.is_file() and self.path.is_file():
            before = json.loads(self.recorded.read_text())
            if before != self.settings:
                changed = sorted(k for k in {*before, *self.settings} if before.get(k) != self.settings.get(k))
                raise ValueError(f"{self.out} holds the results of a sweep with other settings ({', '.join(changed)}"
                                 f" differ); give --out another folder, or delete it to start again")
            for row in read_rows(self.path):  # rows without a sweep.json have unknown settings: not reused
                self.cells.setdefault(cell_of(row), []).append(row)

    @property
    def rows(self) -> list[Result]:
        """Every recorded row, cell by cell in the order they finished."""
        return [row for rows in self.cells.values() for row in rows]

    def add(self, rows: list[Result]) -> None:
        """Record one finished cell's rows; results.csv holds them when this returns."""
        if not self.cells:  # the first cell: nothing is written before a sweep has a result
            write_text_atomic(self.recorded, json.dumps(self.settings, indent=2, sort_keys=True) + "\n")
        self.cells[cell_of(rows[0])] = rows
        write_rows(self.rows, self.path)


def write_rows(rows: list[Result], path: Path) -> None:
    """results.csv, one row per encoder, task, fraction, seed, layer and metric, written atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)

    write_atomic(path, write)


def read_rows(path: Path) -> list[Result]:
    """The rows of a results.csv."""
    with open(path, newline="") as f:
        return [{"encoder": r["encoder"], "task": r["task"], "fraction": float(r["fraction"]),
                 "shots": int(r.get("shots") or 0), "seed": int(r["seed"]), "layer": r["layer"], "metric": r["metric"],
                 "value": r["value"] if r["metric"] == CORRECT_BY_CLIP else float(r["value"])}
                for r in csv.DictReader(f)]
