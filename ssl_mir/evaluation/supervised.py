"""The supervised baseline: the same encoder trained end to end with a linear head on the labels."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from ssl_mir.data.tasks import Task
from ssl_mir.encoders.base import Encoder
from ssl_mir.optim import build_optimizers
from ssl_mir.evaluation.metrics import ClipEvaluator, ClipScoring


class Supervised(ClipScoring, pl.LightningModule):
    """Encoder → time average → linear head, trained on one task (the supervised baseline of CLMR, Spijkervet &
    Burgoyne 2021). Training sees random crops; validation and test score whole clips from chunk averages.

    Args:
        encoder: the network, randomly initialised.
        task: the task to fit; the CLI links it from `data.target_task`.
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
    """

    def __init__(
        self,
        encoder: Encoder,
        task: Task | None = None,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__()
        if task is None:
            raise ValueError("Supervised needs a task; the CLI links it from data.target")
        self.encoder = encoder
        self.task = task
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.head = nn.Linear(encoder.embed_dim, task.num_outputs)
        self.evaluator = ClipEvaluator(task)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder.embed(wave))  # (B, C)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        wave = batch["views"][:, 0]  # (B, S)
        loss = self.task.loss(self(wave), batch["targets"][self.task.name])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(wave))
        return loss

    def chunk_outputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self(batch["wave"]), batch["targets"][self.task.name], batch["clip"]

    def configure_optimizers(self) -> dict:
        return build_optimizers(self.parameters(), self.optimizer, self.scheduler)
