"""PretextModule: the shared shell of every pre-training method."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.data.sampling import SeededDraws
from ssl_mir.encoders.base import Encoder
from ssl_mir.memory_format import ChannelsLast
from ssl_mir.optim import build_optimizers, global_batch


class PretextModule(SeededDraws, ChannelsLast, pl.LightningModule):
    """Owns the encoder and the optimiser; a method adds its heads and `training_step`.

    Export of the encoder at the end of fit is a callback (`ssl_mir.callbacks`), added by the CLI, so that methods
    stay short. A method's own draws (masks, spectrogram augmentations) come from torch's generator, seeded before
    each batch from the run seed, the epoch, the batch and the rank (`SeededDraws`).

    A method's `__init__` passes what it does not name itself (`**kwargs`) on to this one, so every option here is an
    option of every method's config.

    Args:
        encoder: the network being pre-trained.
        optimizer: builds the optimiser from the parameter groups (`optim.parameter_groups`: norm and bias
            parameters without weight decay, and so without LARS or LAMB adaptation).
        scheduler: builds a per-step learning-rate scheduler from the optimiser, or None.
        lr_base_batch: the linear scaling rule (Goyal et al. 2017, as SimCLR and MAE use it): when set, the
            optimiser's learning rate is multiplied by the global batch (clips per step over every rank and
            accumulated micro-batch) over this, e.g. 256.
        micro_batch: for losses with in-batch negatives, encode the batch's views this many at a time through a
            gradient cache (`pretext.gradcache`, Gao et al. 2021): the loss and gradients of the whole batch with
            the activation memory of a micro-batch (None: all at once).
        channels_last: train 2-D convolutions in channels-last memory format (`ssl_mir.memory_format`; 1.6× faster
            2-D CNN steps on a CPU).
    """

    def __init__(
        self,
        encoder: Encoder,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        lr_base_batch: int | None = None,
        micro_batch: int | None = None,
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.channels_last = channels_last
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.lr_base_batch = lr_base_batch
        if micro_batch is not None and (micro_batch < 1 or not self.in_batch_negatives):
            raise ValueError(f"micro_batch {micro_batch}: a gradient cache is for losses with in-batch negatives "
                             f"(SimCLR, COLA), and needs at least 1; {type(self).__name__} can accumulate gradients "
                             f"instead (trainer.accumulate_grad_batches)")
        self.micro_batch = micro_batch

    in_batch_negatives = False  # a loss whose negatives are the other clips of the step's batch

    def setup(self, stage: str) -> None:
        """Refuse gradient accumulation where it would change the loss: a contrastive loss draws its negatives from
        each micro-batch, so 4 micro-batches of 64 train on 63 negatives per anchor, not the 255 of a batch of 256."""
        accumulate = self.trainer.accumulate_grad_batches if self._trainer is not None else 1
        if self.in_batch_negatives and accumulate > 1:
            raise ValueError(
                f"{type(self).__name__} takes its negatives from the batch, and trainer.accumulate_grad_batches "
                f"{accumulate} would draw them from each micro-batch: another loss than the large batch it stands "
                f"for. Set model.init_args.micro_batch (a gradient cache: the whole batch's loss with a micro-batch's "
                f"memory), or add devices (negatives are gathered from every rank), instead")

    def embed_pairs(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The clip embeddings of a batch's two views per clip: (B, 2, S) → (B, 2, D)."""
        views = batch["views"]  # (B, 2, S)
        if views.shape[1] != 2:
            raise ValueError(f"{type(self).__name__} needs 2 views per clip, got {views.shape[1]} (set data.n_views: 2)")
        return self.embed(views.flatten(0, 1)).view(views.shape[0], 2, -1)  # (B, 2, D)

    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        """(N, S) → (N, D) clip embeddings by the encoder, through the gradient cache when `micro_batch` is set."""
        if self.micro_batch is None or not torch.is_grad_enabled() or len(wave) <= self.micro_batch:
            return self.encoder.embed(wave)
        from ssl_mir.pretext.gradcache import cached_embed

        return cached_embed(self.encoder.embed, self.encoder, wave, self.micro_batch)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """The optimiser's step, then `after_step` inside it: callbacks' `on_train_batch_end` (ModelCheckpoint,
        PeriodicCheckpoint) run before the module's, so an update made there would be missing from their checkpoints."""
        super().optimizer_step(*args, **kwargs)
        self.after_step(self.global_step + 1)  # the step counter is advanced after this hook

    def after_step(self, step: int) -> None:
        """What follows optimiser step number `step` (from 1): EMA targets move here (BYOL-A, M2D)."""

    def configure_optimizers(self) -> dict:
        scale = 1.0 if self.lr_base_batch is None else global_batch(self.trainer) / self.lr_base_batch
        return build_optimizers(self, self.optimizer, self.scheduler, scale)
