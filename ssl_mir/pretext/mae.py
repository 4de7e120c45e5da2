"""Masked autoencoding of log-mel patches."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.transformer import PatchTransformer
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.heads import MAEDecoder
from ssl_mir.pretext.losses import patch_mse
from ssl_mir.pretext.masking import Masking, masked_count, patch_mask, random_subset, split_indices


class MAE(PretextModule):
    """He et al., "Masked Autoencoders Are Scalable Vision Learners" (CVPR 2022), on spectrograms as Audio-MAE
    (Huang et al., NeurIPS 2022) with 2D patches and MSM-MAE (Niizumi et al., HEAR 2021) with frame patches.

    Most patches are masked; the encoder sees only the visible ones (which is what makes a step cheap), a light
    decoder fills in the rest, and the loss is the MSE on the masked patches of per-patch normalised targets. Only
    the encoder is exported. With `predict_ratio` below 1, the decoder predicts (and the loss scores) only that share
    of the masked patches, drawn afresh each step, as CrossMAE does (Fu et al., "Rethinking Patch Dependence for
    Masked Autoencoders", 2024): the decoder then runs over fewer tokens.

    Args:
        encoder: the patch transformer being pre-trained.
        mask_ratio: share of patches masked (He et al.: 0.75; Audio-MAE: 0.8).
        masking: "random" patches, or whole "time" columns or "frequency" rows (Audio-MAE's structured masking).
        decoder_dim: decoder width.
        decoder_depth: decoder blocks.
        decoder_heads: decoder attention heads.
        predict_ratio: share of the masked patches the decoder predicts and the loss scores (CrossMAE: 0.25).
        normalise_targets: per-patch normalised targets (He et al.: better representations). With mask_ratio 0
            every patch is scored (a plain autoencoder, for comparison).
        optimizer: builds the optimiser (He et al.: AdamW).
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`).
    """

    def __init__(
        self,
        encoder: PatchTransformer,
        mask_ratio: float = 0.75,
        masking: Masking = "random",
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        decoder_heads: int = 4,
        predict_ratio: float = 1.0,
        normalise_targets: bool = True,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
        if not 0.0 < predict_ratio <= 1.0:
            raise ValueError(f"predict_ratio must be in (0, 1], got {predict_ratio}")
        self.mask_ratio = mask_ratio
        self.masking = masking
        self.predict_ratio = predict_ratio
        self.normalise_targets = normalise_targets
        self.decoder = MAEDecoder(encoder.token_dim, encoder.patch_dim, decoder_dim, decoder_depth, decoder_heads)

    def encode_visible(self, patches: torch.Tensor, grid: tuple[int, int], keep: torch.Tensor) -> torch.Tensor:
        """The encoder over the visible patches (grid indices `keep`, (B, n)) only: masked patches never enter it.
        (B, N, P) → (B, n, D)."""
        return self.encoder.encode_patches(patches, grid, keep)  # type: ignore[operator]  # (B, n, D)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, S) → predicted patches (B, m, P) and their input patches (B, m, P): the masked patches the decoder was
        asked for, or every patch when nothing is masked (mask_ratio 0, a plain autoencoder)."""
        patches, grid = self.encoder.patches(wave)  # type: ignore[operator]  # (B, N, P)
        mask = patch_mask(len(wave), grid, self.mask_ratio, self.masking, wave.device)  # (B, N)
        keep, hidden = split_indices(mask, masked_count(grid, self.mask_ratio, self.masking))  # (B, n), (B, N - n)
        queries = random_subset(hidden, self.predict_ratio)  # (B, m)
        pred = self.decoder(self.encode_visible(patches, grid, keep), keep, queries, grid)  # (B, n + m, P)
        if queries.shape[1]:
            scored, pred = queries, pred[:, keep.shape[1]:]  # (B, m), (B, m, P)
        else:
            scored = keep  # nothing masked: every patch is scored
        return pred, patches.gather(1, scored[..., None].expand(-1, -1, patches.shape[-1]))

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        wave = batch["views"][:, 0]  # (B, S)
        pred, target = self(wave)
        loss = patch_mse(pred, target, self.normalise_targets)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(wave))
        return loss
