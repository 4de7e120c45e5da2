"""BYOL-A: two augmentations of one log-mel segment, an online network that predicts an EMA target, no negatives."""

from __future__ import annotations

import copy
from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from ssl_mir.augment.spectrogram import LogMixupExp, RandomResizeCrop
from ssl_mir.encoders.family import FamilyEncoder
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.ema import ema_update, target_momentum
from ssl_mir.pretext.losses import byol_loss


def mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Module:
    """BYOL's projector / predictor: Linear → BatchNorm → ReLU → Linear."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(),
                         nn.Linear(hidden_dim, out_dim))


class BYOLA(PretextModule):
    """Niizumi et al., "BYOL for Audio: Self-Supervised Learning for General-Purpose Audio Representation" (IJCNN
    2021) and "BYOL for Audio: Exploring Pre-trained General-purpose Audio Representations" (TASLP 2023), after Grill
    et al. (BYOL, NeurIPS 2020).

    One crop per clip goes through the encoder's front end; two views of that log-mel are made on the training
    device by log-mixup-exp with past inputs and random resize crop. The online encoder, projector and predictor
    predict the target projection of the other view; the target (encoder and projector) is an EMA of the online
    network whose momentum rises from `base_momentum` to 1 on a cosine schedule. Only the online encoder is exported.

    Args:
        encoder: an encoder with a separable front end (the tutorial families).
        projection_dim: projector and predictor output (BYOL-A: 256).
        hidden_dim: projector and predictor hidden width (BYOL-A: 4096).
        base_momentum: τ at the first step (BYOL-A: 0.99).
        mixup_ratio: the largest log-mixup-exp weight (BYOL-A: 0.4).
        memory_size: past spectrograms mixup draws from.
        virtual_scale: random-resize-crop canvas over the input (frequency, time).
        freq_scale: random-resize-crop height range.
        time_scale: random-resize-crop width range.
        optimizer: builds the optimiser (BYOL-A: Adam, lr 1e-3 for v1, 3e-4 for v2).
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`).
    """

    def __init__(
        self,
        encoder: FamilyEncoder,
        projection_dim: int = 256,
        hidden_dim: int = 4096,
        base_momentum: float = 0.99,
        mixup_ratio: float = 0.4,
        memory_size: int = 2048,
        virtual_scale: tuple[float, float] = (1.0, 1.5),
        freq_scale: tuple[float, float] = (0.6, 1.5),
        time_scale: tuple[float, float] = (0.6, 1.5),
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        self.base_momentum = base_momentum
        self.projector = mlp(encoder.embed_dim, hidden_dim, projection_dim)
        self.predictor = mlp(projection_dim, hidden_dim, projection_dim)
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.augment = nn.Sequential(LogMixupExp(mixup_ratio, memory_size),
                                     RandomResizeCrop(virtual_scale, freq_scale, time_scale))

    def embed_views(self, encoder: FamilyEncoder, views: torch.Tensor) -> torch.Tensor:
        """(2B, 1, F, T) augmented spectrograms → (2B, D) clip embeddings."""
        return encoder.pool(encoder.states_from_spectrogram(views)[-1])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        wave = batch["views"][:, 0]  # (B, S)
        with torch.no_grad():
            spec = self.encoder.frontend(wave)  # type: ignore[operator]  # (B, 1, F, T)
            views = torch.cat([self.augment(spec), self.augment(spec)])  # (2B, 1, F, T)
        b = len(wave)
        online = self.predictor(self.projector(self.embed_views(self.encoder, views)))  # (2B, d)
        with torch.no_grad():
            target = self.target_projector(self.embed_views(self.target_encoder, views))  # (2B, d)
        # Each view's prediction regresses the other view's target.
        loss = byol_loss(online[:b], target[b:]) + byol_loss(online[b:], target[:b])
        self.log("train/loss", loss, prog_bar=True, batch_size=b)
        return loss

    def after_step(self, step: int) -> None:
        tau = target_momentum(self.base_momentum, step, int(self.trainer.estimated_stepping_batches))
        ema_update(self.target_encoder, self.encoder, tau)
        ema_update(self.target_projector, self.projector, tau)
        self.log("train/target_momentum", tau, batch_size=1)

