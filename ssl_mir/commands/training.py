"""`ssl-mir pretrain` and `ssl-mir supervised`: LightningCLI `fit` runs."""

from __future__ import annotations

from ssl_mir.data.datamodules import LabeledDataModule, PretrainDataModule
from ssl_mir.evaluation.supervised import Supervised
from ssl_mir.pretext.base import PretextModule
from ssl_mir.runlock import released
from ssl_mir.training_cli import lightning


def pretrain(args: list[str]) -> None:
    """Self-supervised pre-training; the encoder is exported to <default_root_dir>/encoder at the end."""
    with released():
        lightning(PretextModule, PretrainDataModule, args, "runs/pretrain", "pretrain")


def supervised(args: list[str]) -> None:
    """End-to-end supervised training on one task, then a clip-level test of the final weights."""
    with released():
        cli = lightning(Supervised, LabeledDataModule, args, "runs/supervised", "supervised")
        if not cli.trainer.fast_dev_run:
            cli.trainer.test(cli.model, datamodule=cli.datamodule)
