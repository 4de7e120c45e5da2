"""Divergence and collapse: real pre-training runs through the CLI, broken on purpose at a chosen step."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from ssl_mir.errors import RunFailedError
from tests.test_cli import _pretrain_tiny

SMALL = ["--trainer.limit_train_batches", "4", "--trainer.log_every_n_steps", "1"]  # 4 steps per epoch


class NanGradientAt(pl.Callback):
    """Test-only: a NaN gradient at the given steps (`from_step` on, or only `step`), as a diverging loss gives."""

    def __init__(self, step: int, until: int | None = None) -> None:
        self.steps = range(step, (until if until is not None else step) + 1)

    def on_after_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.global_step in self.steps:
            next(pl_module.parameters()).grad.fill_(math.nan)


class InfiniteStatisticsAt(pl.Callback):
    """Test-only: a BatchNorm running variance becomes infinite at a step, as a learning rate of 1e12 gives."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        if trainer.global_step == self.step:
            pl_module.encoder.layers[0][1].running_var.fill_(math.inf)


class ConstantOutput(pl.Callback):
    """Test-only: after every step the last convolution's weights are zero, so every input gives one embedding."""

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        pl_module.encoder.layers[-1][0].weight.detach().zero_()


def _callback(cls: type, **init: object) -> list[str]:
    return ["--trainer.callbacks+", f"tests.test_guard.{cls.__name__}",
            *[a for k, v in init.items() for a in (f"--trainer.callbacks.{k}", str(v))]]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


def test_a_nan_gradient_stops_the_run_naming_the_step_and_keeping_the_last_good_checkpoint(
        corpus: Path, tmp_path: Path) -> None:
    _pretrain_tiny(corpus, tmp_path / "good", 1, *SMALL)  # what the first epoch gives, for comparison
    with pytest.raises(RunFailedError, match=r"step 6: the loss or its gradient is NaN or infinite \(gradient of "
                                             r"encoder.input_bn.weight\); the last good checkpoint is .*last.ckpt"):
        _pretrain_tiny(corpus, tmp_path / "run", 3, *SMALL, *_callback(NanGradientAt, step=6))
    last = _weights(tmp_path / "run" / "checkpoints" / "last.ckpt")  # epoch 1's, untouched
    assert torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4
    for name, value in _weights(tmp_path / "good" / "checkpoints" / "last.ckpt").items():
        torch.testing.assert_close(last[name], value, rtol=0, atol=0, msg=name)
    assert not (tmp_path / "run" / "encoder").exists()  # nothing exported from the failed run


def test_skip_drops_a_non_finite_step_counts_it_and_stops_past_the_limit(
        corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    skip = ["--on_nonfinite", "skip", "--max_nonfinite_skips", "2"]
    with caplog.at_level(logging.WARNING, logger="ssl_mir.guard"):
        _pretrain_tiny(corpus, tmp_path / "once", 2, *SMALL, *skip, "--health_every_n_steps", "1",
                       *_callback(NanGradientAt, step=5))
    assert "step 5: non-finite gradient of encoder.input_bn.weight; step skipped (1 of at most 2)" in caplog.text
    with open(tmp_path / "once" / "metrics.csv") as f:
        skipped = [r["train/nonfinite_skipped"] for r in csv.DictReader(f) if r.get("train/nonfinite_skipped")]
    assert skipped and set(skipped) == {"1.0"}  # one step skipped in the whole run
    with open(tmp_path / "once" / "metrics.csv") as f:
        assert {r["health/collapsed"] for r in csv.DictReader(f) if r.get("health/collapsed")} == {"0.0"}
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path / "once" / "checkpoints" / "last.ckpt").values())
    assert (tmp_path / "once" / "encoder" / "encoder.safetensors").is_file()
    with pytest.raises(RunFailedError, match=r"step 7: .* after 2 skipped steps"):
        _pretrain_tiny(corpus, tmp_path / "always", 2, *SMALL, *skip, *_callback(NanGradientAt, step=5, until=99))


def test_a_checkpoint_with_infinite_statistics_is_refused_and_the_previous_one_kept(
        corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(RunFailedError, match=r"step 8: refusing to write a checkpoint whose weights are NaN or "
                                             r"infinite \(encoder.layers.0.1.running_var\)"):
        _pretrain_tiny(corpus, tmp_path / "run", 3, *SMALL, *_callback(InfiniteStatisticsAt, step=6))
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4 and all(torch.isfinite(v).all() for v in last["state_dict"].values())
    assert not (tmp_path / "run" / "encoder").exists()


def test_a_diverging_learning_rate_fails_and_its_collapse_is_reported(
        corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ssl_mir.health"), pytest.raises(RunFailedError, match="NaN or inf"):
        _pretrain_tiny(corpus, tmp_path / "run", 2, *SMALL, "--health_every_n_steps", "1",
                       "--model.init_args.optimizer.init_args.lr", "1e12")
    assert "representation collapse" in caplog.text
    with open(tmp_path / "run" / "metrics.csv") as f:
        collapsed = [float(r["health/collapsed"]) for r in csv.DictReader(f) if r.get("health/collapsed")]
    assert collapsed and set(collapsed) == {1.0}  # from the first step on (a healthy run logs 0: the test above)
    assert not (tmp_path / "run" / "encoder").exists() and not (tmp_path / "run" / "checkpoints").exists()


def test_a_run_that_ends_collapsed_exports_its_encoder_but_fails(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(RunFailedError, match=r"the representation collapsed .* at step 8, the last measurement"):
        _pretrain_tiny(corpus, tmp_path / "run", 2, *SMALL, *_callback(ConstantOutput))
    assert (tmp_path / "run" / "encoder" / "encoder.safetensors").is_file()  # there to inspect, not a success
