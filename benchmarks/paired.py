"""Intervals and paired differences across compare runs made apart (an encoder in one `--out`, a costly supervised
baseline in another): the same tables as a report's, from their results.csv files.

The runs must share the data and probe settings and seeds (their sweep.json files are checked), so that each label
budget and seed drew the same training clips in every run and the test clips are the same.

    python benchmarks/paired.py runs/g_stone_probes runs/g_stone_sup
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ssl_mir.evaluation.intervals import interval_tables
from ssl_mir.evaluation.journal import read_rows

SHARED = ("data", "probe")  # what decides the clips a budget draws and how a probe is scored


def main(runs: list[str]) -> None:
    settings = [json.loads((Path(r) / "sweep.json").read_text()) for r in runs]
    for key in SHARED:
        first = {k: v for k, v in settings[0][key].items() if k != "target"}
        for run, other in zip(runs[1:], settings[1:]):
            if {k: v for k, v in other[key].items() if k != "target"} != first:
                raise SystemExit(f"{run}: its {key} settings differ from {runs[0]}'s; the budgets would not match")
    rows = [row for r in runs for row in read_rows(Path(r) / "results.csv")]
    print("\n\n".join(interval_tables(rows)))


if __name__ == "__main__":
    main(sys.argv[1:])
