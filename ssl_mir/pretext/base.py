"""PretextModule: the shared shell of every pre-training method."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.base import Encoder
from ssl_mir.optim import build_optimizers


class PretextModule(pl.LightningModule):
    """Owns the encoder and the optimiser; a method adds its heads and `training_step`.

    Export of the encoder at the end of fit and RNG state in checkpoints are callbacks (`ssl_mir.callbacks`), added
    by the CLI, so that methods stay short.

    Args:
        encoder: the network being pre-trained.
        optimizer: builds the optimiser from the parameters.
        scheduler: builds a per-step learning-rate scheduler from the optimiser, or None.
    """

    def __init__(
        self,
        encoder: Encoder,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.optimizer = optimizer
        self.scheduler = scheduler

    def configure_optimizers(self) -> dict:
        return build_optimizers(self.parameters(), self.optimizer, self.scheduler)
