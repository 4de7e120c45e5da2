"""SimCLR and COLA on the same pair of crops: one encoder, two heads, the losses summed."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.base import Encoder
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.heads import BilinearHead, ProjectionHead
from ssl_mir.pretext.losses import nt_xent


class SimCLRCOLA(PretextModule):
    """SimCLR's NT-Xent over a projection MLP (Chen et al., ICML 2020; CLMR, Spijkervet & Burgoyne, ISMIR 2021) plus
    COLA's bilinear contrast over its own head (Saeed et al., ICASSP 2021), both on the encoder's embeddings of the
    same two crops per clip: `loss = nt_xent + cola_weight · cola`.

    On the pieces corpus the two losses learn different things from the same crops (benchmarks/QUALITY.md): the
    cosine score with a low temperature keeps the key, the bilinear one the collection.

    Args:
        encoder: the network being pre-trained.
        projection_dim: output size of SimCLR's projection head.
        temperature: NT-Xent temperature.
        cola_dim: width of COLA's head.
        cola_weight: weight of COLA's loss.
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`, `micro_batch`).
    """

    in_batch_negatives = True

    def __init__(
        self,
        encoder: Encoder,
        projection_dim: int = 128,
        temperature: float = 0.1,
        cola_dim: int = 512,
        cola_weight: float = 1.0,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        self.temperature = temperature
        self.cola_weight = cola_weight
        self.projector = ProjectionHead(encoder.embed_dim, encoder.embed_dim, projection_dim)
        self.bilinear = BilinearHead(encoder.embed_dim, cola_dim)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        views = batch["views"]  # (B, 2, S)
        if views.shape[1] != 2:
            raise ValueError(f"SimCLRCOLA needs 2 crops per clip, got {views.shape[1]} (set data.n_views: 2)")
        b = views.shape[0]
        h = self.embed(views.flatten(0, 1)).view(b, 2, -1)  # (B, 2, D)
        z = self.projector(h)  # (B, 2, d)
        simclr = nt_xent(z[:, 0], z[:, 1], self.temperature)
        cola = self.bilinear.loss(h)
        loss = simclr + self.cola_weight * cola
        self.log_dict({"train/simclr": simclr, "train/cola": cola}, batch_size=b)
        self.log("train/loss", loss, prog_bar=True, batch_size=b)
        return loss
