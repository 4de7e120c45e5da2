"""PretextModule: the shared shell of every pre-training method."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.data.sampling import SeededDraws
from ssl_mir.encoders.base import Encoder
from ssl_mir.optim import build_optimizers


class PretextModule(SeededDraws, pl.LightningModule):
    """Owns the encoder and the optimiser; a method adds its heads and `training_step`.

    Export of the encoder at the end of fit is a callback (`ssl_mir.callbacks`), added by the CLI, so that methods
    stay short. A method's own draws (masks, spectrogram augmentations) come from torch's generator, seeded before
    each batch from the run seed, the epoch, the batch and the rank (`SeededDraws`).

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

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """The optimiser's step, then `after_step` inside it: callbacks' `on_train_batch_end` (ModelCheckpoint,
        PeriodicCheckpoint) run before the module's, so an update made there would be missing from their checkpoints."""
        super().optimizer_step(*args, **kwargs)
        self.after_step(self.global_step + 1)  # the step counter is advanced after this hook

    def after_step(self, step: int) -> None:
        """What follows optimiser step number `step` (from 1): EMA targets move here (BYOL-A, M2D)."""

    def configure_optimizers(self) -> dict:
        return build_optimizers(self.parameters(), self.optimizer, self.scheduler)
