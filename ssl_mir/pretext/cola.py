"""COLA: segments of one clip are positives, the other clips of the batch are negatives, bilinear similarity."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.base import Encoder
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.heads import BilinearHead


class COLA(PretextModule):
    """Saeed, Grangier & Zeghidour, "Contrastive Learning of General-Purpose Audio Representations" (ICASSP 2021).

    Two random segments of a clip (the data module's views, no augmentation in the paper) go through the encoder and
    a head of one linear layer, layer normalisation and tanh; a learnt bilinear form scores every anchor against
    every positive of the batch (gathered from every rank under DDP) and cross-entropy picks the anchor's own.

    Args:
        encoder: the network being pre-trained.
        projection_dim: width of the head (COLA: 512).
        optimizer: builds the optimiser (COLA: Adam, lr 1e-4).
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`, `micro_batch`).
    """

    in_batch_negatives = True

    def __init__(
        self,
        encoder: Encoder,
        projection_dim: int = 512,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        self.head = BilinearHead(encoder.embed_dim, projection_dim)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        h = self.embed_pairs(batch)  # (B, 2, D): the two segments of each clip
        loss = self.head.loss(h)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(h))
        return loss
