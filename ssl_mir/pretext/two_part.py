"""One training run for a two-part encoder: SimCLR on its invariant part, STONE on its equivariant part."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.chromanet import ChromaNet
from ssl_mir.encoders.two_part import TwoPart
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.heads import ProjectionHead
from ssl_mir.pretext.losses import nt_xent
from ssl_mir.pretext.stone import stone_terms


class InvariantEquivariant(PretextModule):
    """SimCLR's NT-Xent over a projection head on the invariant part's clip embeddings of two crops (Chen et al.,
    ICML 2020; CLMR, Spijkervet & Burgoyne, ISMIR 2021), plus STONE's key and mode terms on the equivariant part,
    transposing the same crops by a known shift of their CQT (Kong et al., ISMIR 2024):
    `loss = nt_xent + stone_weight · (key + mode_weight · mode)`. Each loss reaches its own part only, so the
    equivariant part never learns pitch as something to ignore (keep pitch shift out of the views all the same: the
    invariant part would learn to ignore it).

    Args:
        encoder: a TwoPart whose equivariant part is a ChromaNet.
        projection_dim: output size of SimCLR's projection head.
        temperature: NT-Xent temperature.
        stone_weight: weight of STONE's terms.
        omega: STONE's DFT coefficient (7: circle of fifths).
        mode_weight: weight of STONE's mode term.
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options.
    """

    in_batch_negatives = True

    def __init__(
        self,
        encoder: TwoPart,
        projection_dim: int = 128,
        temperature: float = 0.1,
        stone_weight: float = 1.0,
        omega: int = 7,
        mode_weight: float = 1.5,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        if not isinstance(encoder, TwoPart) or not isinstance(encoder.equivariant, ChromaNet):
            raise ValueError(f"InvariantEquivariant needs a TwoPart encoder whose equivariant part is a ChromaNet, "
                             f"got {type(encoder).__name__}")
        if self.micro_batch is not None:
            raise ValueError("InvariantEquivariant has no gradient cache: STONE's terms need the whole batch")
        self.temperature, self.stone_weight, self.omega, self.mode_weight = (temperature, stone_weight, omega,
                                                                            mode_weight)
        self.projector = ProjectionHead(encoder.invariant.embed_dim, encoder.invariant.embed_dim, projection_dim)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        views = batch["views"]  # (B, 2, S)
        if views.shape[1] != 2:
            raise ValueError(f"{type(self).__name__} needs 2 views per clip, got {views.shape[1]} (data.n_views: 2)")
        encoder: TwoPart = self.encoder  # type: ignore[assignment]
        z = self.projector(encoder.invariant.embed(views.flatten(0, 1))).view(len(views), 2, -1)  # (B, 2, d)
        simclr = nt_xent(z[:, 0], z[:, 1], self.temperature)
        terms = stone_terms(encoder.equivariant, views, self.omega)  # type: ignore[arg-type]
        loss = simclr + self.stone_weight * (terms["key"] + self.mode_weight * terms["mode"])
        self.log_dict({"train/loss": loss, "train/simclr": simclr, "train/key_loss": terms["key"],
                       "train/mode_loss": terms["mode"]}, prog_bar=True, batch_size=len(views))
        return loss
