"""The CLI's progress bar reads the logged loss back as the loggers do, every `log_every_n_steps` steps, where
Lightning's reads it after every step (on a GPU, a wait for the device per step; issue 16). Counted on real CLI runs
with `benchmarks/device_work.ReadBacks`, which sees every `.item()` the bar's code makes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.test_cli import _pretrain_tiny

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
STEPS = ["--trainer.limit_train_batches", "8", "--trainer.log_every_n_steps", "4", "--trainer.enable_progress_bar",
         "true"]


def _bar_reads(corpus: Path, root: Path, *extra: str) -> int:
    device_work = importlib.import_module("device_work")
    with device_work.ReadBacks(within="callbacks/progress") as reads:
        _pretrain_tiny(corpus, root, 1, *STEPS, *extra)
    return sum(reads.places.values())


def test_the_bar_reads_the_loss_every_log_interval_not_every_step(corpus: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    ours = _bar_reads(corpus, tmp_path / "ours")
    lightnings = _bar_reads(corpus, tmp_path / "lightning", "--trainer.callbacks+",
                            "pytorch_lightning.callbacks.RichProgressBar")
    assert lightnings >= 8  # the loss after each of the 8 steps (the corpus's training split)
    assert ours <= 4  # steps 1, 4 and 8, and at most one more at the epoch's end
