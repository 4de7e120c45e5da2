"""SimCLR in its CLMR flavour: two augmented crops of a clip, a projection head and NT-Xent."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.base import Encoder
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.heads import CQTProfileHead, ProjectionHead
from ssl_mir.pretext.losses import nt_xent


class SimCLR(PretextModule):
    """Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations" (ICML 2020), applied to
    music as CLMR (Spijkervet & Burgoyne, ISMIR 2021). Unlike CLMR, negatives are gathered from every rank under DDP.

    Args:
        encoder: the network being pre-trained.
        projection_dim: output size of the projection head (CLMR: 128).
        temperature: NT-Xent temperature (CLMR: 0.5).
        cqt_weight: weight of an auxiliary loss that predicts each view's pitch profile from its embedding
            (`CQTProfileHead`, MERT's CQT teacher at the clip level; 0: off).
        optimizer: builds the optimiser (CLMR: Adam, lr 3e-4).
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`, `micro_batch`).
    """

    in_batch_negatives = True

    def __init__(
        self,
        encoder: Encoder,
        projection_dim: int = 128,
        temperature: float = 0.5,
        cqt_weight: float = 0.0,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        self.temperature = temperature
        self.projector = ProjectionHead(encoder.embed_dim, encoder.embed_dim, projection_dim)
        self.cqt_weight = cqt_weight
        if cqt_weight > 0:
            self.profile = CQTProfileHead(encoder.embed_dim, encoder.sample_rate)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        h = self.embed_pairs(batch)  # (B, 2, D)
        loss = self.pair_loss(h)
        if self.cqt_weight > 0:
            profile = self.profile.loss(h.flatten(0, 1), batch["views"].flatten(0, 1))
            self.log("train/cqt_loss", profile, batch_size=len(h))
            loss = loss + self.cqt_weight * profile
        self.log("train/loss", loss, prog_bar=True, batch_size=len(h))
        return loss

    def pair_loss(self, h: torch.Tensor) -> torch.Tensor:
        """NT-Xent of the projections of both views' embeddings h (B, 2, D)."""
        z = self.projector(h)  # (B, 2, d)
        return nt_xent(z[:, 0], z[:, 1], self.temperature)
