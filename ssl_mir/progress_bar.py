"""The training runs' progress bar: Lightning's rich bar, showing the logged values (the loss) as the loggers get
them, every `trainer.log_every_n_steps` steps, rather than after every step.

Lightning's bar converts the logged tensors to numbers after every training step. On a GPU each conversion makes the
host wait until the device has finished the step, so the host cannot queue the next step's work meanwhile: a sync
per step that a training loop without a bar does not have.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar


class StepProgressBar(RichProgressBar):
    """`RichProgressBar` whose values are read at the first step, every `trainer.log_every_n_steps` training steps,
    at each epoch's end and whenever the trainer is not training (validation)."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: dict[str, Any] | None = None  # the values read last

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        if self.shown is None or not trainer.training or trainer.global_step % trainer.log_every_n_steps == 0:
            self.shown = super().get_metrics(trainer, pl_module)
        return self.shown

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.shown = None  # the epoch's last values
        super().on_train_epoch_end(trainer, pl_module)
