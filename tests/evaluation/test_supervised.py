"""The supervised baseline's cell: early stopping on a plateau keeps the best-epoch rule, and decoding the corpus once
for a sweep leaves a cell's result as it was."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.supervised import (
    BestWeights,
    Supervised,
    SupervisedBudget,
    supervised_trainer,
    train_supervised,
)
from ssl_mir.evaluation.sweep import Sweep, decoded_once

TASKS = {"instrument": "multiclass", "key": "multiclass"}


def tiny() -> ShortChunkCNN:
    torch.manual_seed(0)  # the same initial weights every time
    return ShortChunkCNN(n_mels=32, channels=[8, 8, 16])


def data(corpus: Path) -> LabeledDataModule:
    return LabeledDataModule(str(corpus), TASKS, target="instrument", chunk_samples=16000, batch_size=8,
                             num_workers=0)


def test_patience_stops_a_plateau_after_the_best_validation(corpus: Path) -> None:
    """At lr 0 nothing learns: training stops `patience` validations after the first best (ties count as no better,
    as for the probes), long before max_epochs."""
    labeled = data(corpus)
    model = Supervised(tiny(), labeled.target_task, functools.partial(torch.optim.Adam, lr=0.0))
    trainer = supervised_trainer(SupervisedBudget(max_epochs=40, patience=2), "val/accuracy", "cpu")
    trainer.fit(model, datamodule=labeled)
    history = next(c for c in trainer.callbacks if isinstance(c, BestWeights)).history
    first_best = history.index(max(history))
    assert len(history) == trainer.current_epoch < 40
    assert len(history) == first_best + 1 + 2  # two validations that did not beat it, then the stop


def test_without_patience_every_epoch_runs(corpus: Path) -> None:
    trainer = supervised_trainer(SupervisedBudget(max_epochs=2, val_every_n_epochs=2), "val/accuracy", "cpu")
    labeled = data(corpus)
    trainer.fit(Supervised(tiny(), labeled.target_task), datamodule=labeled)
    assert trainer.current_epoch == 2 and len(trainer.callbacks[0].history) == 1  # validated after epoch 2 only


def test_decoding_once_leaves_a_supervised_cell_unchanged(corpus: Path, tmp_path: Path) -> None:
    """The sweep reads a decoded cache for `supervised:` entries; on 16-bit files at the data's rate the crops are
    the files' own samples, so the cell's scores are the same to the last bit."""
    labeled = data(corpus)
    sweep = Sweep(["supervised:x"], [1.0])
    budget = SupervisedBudget(max_epochs=2, min_steps_per_epoch=2)
    with decoded_once(sweep, labeled, tmp_path / "cache") as cached:
        assert cached.decoded_cache == str(tmp_path / "cache" / "decoded") and labeled.decoded_cache is None
        through_cache = train_supervised(tiny(), cached, budget, "cpu", seed=3)
    assert (tmp_path / "cache" / "decoded" / "16000" / "index.json").is_file()
    direct = train_supervised(tiny(), labeled, budget, "cpu", seed=3)
    assert direct[0] == through_cache[0]
    assert all(torch.equal(a, b) for a, b in zip(direct[1], through_cache[1]))
    with decoded_once(Sweep(["mfcc"], [1.0]), labeled, tmp_path / "cache") as frozen_only:
        assert frozen_only is labeled  # probes embed each chunk once: nothing to save


def test_decoding_once_without_a_cache_folder_uses_a_scratch_one(corpus: Path) -> None:
    labeled = data(corpus)
    with decoded_once(Sweep(["supervised:x"], [1.0]), labeled, None) as cached:
        folder = Path(cached.decoded_cache)
        cached.reader  # noqa: B018  (builds it)
        assert (folder / "16000" / "index.json").is_file()
    assert not folder.exists()


@pytest.mark.parametrize("patience", [0, -1])
def test_a_patience_below_one_is_refused(patience: int) -> None:
    with pytest.raises(ValueError, match="patience"):
        SupervisedBudget(patience=patience)
