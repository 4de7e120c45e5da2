"""SimCLR and COLA on the same pair of crops: one encoder, two heads, the losses summed."""

from __future__ import annotations

from typing import Any

import torch

from ssl_mir.encoders.base import Encoder
from ssl_mir.pretext.heads import BilinearHead
from ssl_mir.pretext.simclr import SimCLR


class SimCLRCOLA(SimCLR):
    """SimCLR's NT-Xent over a projection MLP (Chen et al., ICML 2020; CLMR, Spijkervet & Burgoyne, ISMIR 2021) plus
    COLA's bilinear contrast over its own head (Saeed et al., ICASSP 2021), both on the encoder's embeddings of the
    same two crops per clip: `loss = nt_xent + cola_weight · cola`.

    On the pieces corpus SimCLR kept the key and COLA the collection; the sum kept less of either
    (benchmarks/QUALITY.md), so no shipped recipe uses it.

    Args:
        encoder: the network being pre-trained.
        projection_dim: output size of SimCLR's projection head.
        temperature: NT-Xent temperature.
        cola_dim: width of COLA's head.
        cola_weight: weight of COLA's loss.
        kwargs: SimCLR's and `PretextModule`'s options (optimizer, scheduler, lr_base_batch, micro_batch).
    """

    def __init__(self, encoder: Encoder, projection_dim: int = 128, temperature: float = 0.1, cola_dim: int = 512,
                 cola_weight: float = 1.0, **kwargs: Any) -> None:
        super().__init__(encoder, projection_dim, temperature, **kwargs)
        self.cola_weight = cola_weight
        self.bilinear = BilinearHead(encoder.embed_dim, cola_dim)

    def pair_loss(self, h: torch.Tensor) -> torch.Tensor:
        simclr = super().pair_loss(h)
        cola = self.bilinear.loss(h)
        self.log_dict({"train/simclr": simclr, "train/cola": cola}, batch_size=len(h))
        return simclr + self.cola_weight * cola
