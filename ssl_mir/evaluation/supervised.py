"""The supervised baseline: the same encoder trained end to end with a linear head on the labels."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.data.sampling import SeededDraws
from ssl_mir.data.tasks import Task
from ssl_mir.encoders.base import Encoder
from ssl_mir.evaluation.metrics import PRIMARY_METRIC, ClipEvaluator, ClipScoring
from ssl_mir.memory_format import ChannelsLast
from ssl_mir.optim import build_optimizers

log = logging.getLogger(__name__)


class Supervised(SeededDraws, ClipScoring, ChannelsLast, pl.LightningModule):
    """Encoder → time average → linear head, trained on one task (the supervised baseline of CLMR, Spijkervet &
    Burgoyne 2021). Training sees random crops; validation and test score whole clips from chunk averages.

    Args:
        encoder: the network, randomly initialised.
        task: the task to fit; the CLI links it from `data.target_task`.
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
        channels_last: train 2-D convolutions in channels-last memory format (`ssl_mir.memory_format`).
    """

    def __init__(
        self,
        encoder: Encoder,
        task: Task | None = None,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
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

    def chunk_outputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return self(batch["wave"]), batch["targets"][self.task.name], batch["clip"], batch["chunk"]

    def configure_optimizers(self) -> dict:
        return build_optimizers(self, self.optimizer, self.scheduler)


class BestWeights(pl.Callback):
    """Keep, in memory, the weights of the epoch with the best monitored value, and restore them when fit ends;
    `history` holds every validation's value."""

    def __init__(self, monitor: str) -> None:
        self.monitor, self.best, self.state = monitor, -float("inf"), None
        self.history: list[float] = []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = float(trainer.callback_metrics[self.monitor])
        self.history.append(value)
        if value >= self.best:  # on ties the later, longer-trained epoch
            self.best = value
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)


@dataclass
class SupervisedBudget:
    """How a comparison trains the supervised baseline on each labeled subset.

    Adam for `max_epochs` epochs of at least `min_steps_per_epoch` batches of random crops, the weights of the best
    validation epoch kept: the model selection the probes get. With `patience`, training stops once that many
    validations in a row have not beaten the best, as the probes' early stopping does; the best epoch is still the
    one kept, so the result changes only where a later epoch would have beaten it.

    Args:
        max_epochs: passes over the subset.
        min_steps_per_epoch: batches per epoch at least (clips are drawn again on small subsets).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        val_every_n_epochs: validate (and so select) every this many epochs; validation can cost as much as training.
        patience: stop after this many validations without a new best (None: train all `max_epochs`).
        decode_once: read the corpus decoded and resampled once per sweep, as 16-bit samples in the cache folder,
            rather than decoding every training crop in every epoch.
    """

    max_epochs: int = 20
    min_steps_per_epoch: int = 5
    lr: float = 1e-3
    weight_decay: float = 0.0
    val_every_n_epochs: int = 1
    patience: int | None = None
    decode_once: bool = True

    def __post_init__(self) -> None:
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"supervised.patience must be at least 1 validation (or null), got {self.patience}")


def supervised_trainer(budget: SupervisedBudget, monitor: str, accelerator: str = "auto",
                       precision: str | int | None = None) -> pl.Trainer:
    """A quiet Trainer for one supervised cell: `BestWeights` on `monitor`, and early stopping with a patience."""
    callbacks: list[pl.Callback] = [BestWeights(monitor)]
    if budget.patience is not None:
        callbacks.append(EarlyStopping(monitor, patience=budget.patience, mode="max", check_on_train_epoch_end=False))
    return pl.Trainer(max_epochs=budget.max_epochs, accelerator=accelerator, devices=1, precision=precision,
                      logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0, callbacks=callbacks, check_val_every_n_epoch=budget.val_every_n_epochs)


def train_supervised(encoder: Encoder, data: LabeledDataModule, budget: SupervisedBudget, accelerator: str = "auto",
                     precision: str | int | None = None,
                     seed: int = 0) -> tuple[dict[str, float], tuple[torch.Tensor, torch.Tensor]]:
    """Train `encoder` (fresh, trainable weights) end to end on `data.target_task` and its label budget; return the
    clip-level test metrics of the best validation epoch, and its test predictions per clip with their targets."""
    pl.seed_everything(seed, verbose=False)
    data = data.derive()
    data.min_steps_per_epoch = budget.min_steps_per_epoch
    optimizer = functools.partial(torch.optim.Adam, lr=budget.lr, weight_decay=budget.weight_decay)
    model = Supervised(encoder, data.target_task, optimizer)
    trainer = supervised_trainer(budget, f"val/{PRIMARY_METRIC[model.task.kind]}", accelerator, precision)
    trainer.fit(model, datamodule=data)
    best = next(c for c in trainer.callbacks if isinstance(c, BestWeights))
    log.info("supervised %s, fraction %g, shots %s, seed %d: %d epochs, validation %s %s", data.target,
             data.label_fraction, data.label_shots, seed,
             trainer.current_epoch, best.monitor, [round(v, 4) for v in best.history])
    scores = trainer.test(model, datamodule=data, verbose=False)[0]
    return {k.removeprefix("test/"): float(v) for k, v in scores.items()}, model.evaluator.clip_outputs
