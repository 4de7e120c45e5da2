"""What a sweep's supervised cells cost before and after decoding once and stopping on a plateau, in one run, and
whether any cell's result changed.

    .venv/bin/python benchmarks/sweep_cost.py --patience 3      # the demo's 18 supervised cells, 16 kHz WAV
    .venv/bin/python benchmarks/sweep_cost.py --mp3 --tasks collection --seeds 0   # the same files as 44.1 kHz MP3

The cells are the demo's `supervised:` entry (configs/compare/pieces.yaml and configs/data/pieces_labeled.yaml: 20
epochs validated every 2, bf16, the probe config's seeds), on the corpus `make demo` builds (`ssl-mir synth --kind
pieces --out data/pieces`). **Before**: each training crop read from its file in every epoch, every epoch trained.
**After**: the corpus decoded once (`supervised.decode_once`) and `supervised.patience` validations without a new best
stop a cell. Both runs are timed in this process, one after the other, and their test scores compared cell by cell.
From the before run's validation curves the script also works out, for each patience, how many cells would have
kept another epoch and how many epochs would have run: the choice of the default rests on that table.

With `--mp3`, the labeled set is first written again as 44.1 kHz stereo MP3 (what a user's corpus often is), so that
reading a crop means decoding and resampling it; the cells then read those files.
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.data.audio import read_audio
from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.evaluation.probe import ProbeConfig
from ssl_mir.evaluation.supervised import SupervisedBudget
from ssl_mir.evaluation.sweep import Sweep, run_sweep

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


class Curves(logging.Handler):
    """Collects the validation curve `train_supervised` logs for each cell."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.curves: dict[tuple[str, float, int], list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        target, fraction, seed, _, _, history = record.args  # type: ignore[misc]
        self.curves[target, fraction, seed] = list(history)


def stopped(history: list[float], patience: int | None) -> tuple[int, int]:
    """(validations run, the one kept) under early stopping with `patience` (None: all): the kept one is the last
    best, as `BestWeights` keeps it; a validation that only ties the best is no improvement for the stopping rule."""
    best, wait, run = -float("inf"), 0, len(history)
    for i, value in enumerate(history):
        if value > best:
            best, wait = value, 0
        else:
            wait += 1
        if patience is not None and wait >= patience:
            run = i + 1
            break
    seen = history[:run]
    return run, max(i for i, v in enumerate(seen) if v == max(seen))


def as_mp3(manifest: Path, folder: Path) -> Path:
    """The manifest's audio written again as 44.1 kHz stereo MP3 under `folder`; returns the new manifest."""
    rows = list(csv.DictReader(manifest.open()))
    for row in rows:
        wave = read_audio(manifest.parent / row["path"], 44100).numpy()
        out = folder / Path(row["path"]).with_suffix(".mp3").name
        sf.write(out, np.stack([wave, wave], axis=1), 44100, format="MP3")
        row["path"] = str(out)
    new = folder / "manifest.csv"
    with new.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return new


def run(data: LabeledDataModule, sweep: Sweep, cache: Path | None, curves: Curves) -> tuple[float, dict, dict]:
    curves.curves.clear()
    start = time.perf_counter()
    rows = run_sweep(sweep, data, accelerator="cpu", precision="bf16-mixed", cache_dir=cache, show_progress=False)
    seconds = time.perf_counter() - start
    scores = {(r["task"], r["fraction"], r["seed"], r["metric"]): r["value"] for r in rows}
    return seconds, scores, dict(curves.curves)


def main() -> None:
    keep_freed_memory()  # as every ssl-mir command does (ssl_mir.allocator)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="runs/demo/pretrain/encoder", help="an exported encoder (its network)")
    parser.add_argument("--patience", type=int, default=None, help="validations without a new best, after (default: "
                        "none, every epoch trained, so that only the decoding differs)")
    parser.add_argument("--tasks", nargs="+", default=None, help="default: the compare config's")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: the probe config's")
    parser.add_argument("--mp3", action="store_true", help="read the labeled set as 44.1 kHz stereo MP3")
    args = parser.parse_args()
    compare = yaml.safe_load((CONFIGS / "compare" / "pieces.yaml").read_text())
    seeds = args.seeds or yaml.safe_load((CONFIGS / "probe" / "linear.yaml").read_text())["probe"]["seeds"]
    init = yaml.safe_load((CONFIGS / "data" / "pieces_labeled.yaml").read_text())["data"]
    curves = Curves()
    logging.getLogger("ssl_mir.evaluation.supervised").addHandler(curves)
    logging.getLogger("ssl_mir.evaluation.supervised").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        if args.mp3:
            (Path(tmp) / "mp3").mkdir()
            init["manifest"] = str(as_mp3(Path(init["manifest"]), Path(tmp) / "mp3"))
        data = LabeledDataModule(**init)

        def sweep(budget: SupervisedBudget) -> Sweep:
            return Sweep([f"supervised:{args.encoder}"], compare["fractions"], args.tasks or compare["tasks"],
                         probe=ProbeConfig(seeds=seeds), supervised=budget)

        before = SupervisedBudget(**compare["supervised"], decode_once=False)
        after = SupervisedBudget(**compare["supervised"], patience=args.patience)
        t_before, s_before, histories = run(data, sweep(before), None, curves)
        t_after, s_after, _ = run(data, sweep(after), Path(tmp) / "cache", curves)
    changed = {k for k in s_before if s_before[k] != s_after[k]}
    cells = len(histories)
    print(f"{cells} supervised cells{' (MP3 44.1 kHz stereo)' if args.mp3 else ''}, seeds {seeds}")
    print(f"before (files, every epoch)              {t_before:7.1f} s")
    print(f"after  (decoded once, patience {args.patience})     {t_after:7.1f} s   {t_before / t_after:.2f}x faster")
    print(f"cells whose test scores changed: {len({k[:3] for k in changed})} of {cells}"
          + "".join(f"\n  {k}: {s_before[k]:.4f} -> {s_after[k]:.4f}" for k in sorted(changed)))
    every = before.val_every_n_epochs
    print("\nfrom the before run's validation curves: patience, validations run, cells that keep another epoch")
    for patience in (1, 2, 3, 4, 5, None):
        outcomes = [(stopped(h, patience), stopped(h, None)[1]) for h in histories.values()]
        run_count = sum(run for (run, _), _ in outcomes)
        moved = sum(kept != full for (_, kept), full in outcomes)
        print(f"  {str(patience):>4}  {run_count:4d} of {sum(len(h) for h in histories.values())} "
              f"({run_count * every} epochs)  {moved} of {cells}")


if __name__ == "__main__":
    main()
