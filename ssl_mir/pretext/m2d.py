"""Masked Modeling Duo: the online network predicts, from the visible patches, what an EMA target network makes of
the masked ones."""

from __future__ import annotations

import copy
from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.transformer import PatchTransformer
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.ema import ema_update, target_momentum
from ssl_mir.pretext.heads import MAEDecoder
from ssl_mir.pretext.losses import byol_loss
from ssl_mir.pretext.masking import Masking, masked_count, patch_mask, split_indices


class M2D(PretextModule):
    """Niizumi et al., "Masked Modeling Duo: Learning Representations by Encouraging Both Networks to Model the
    Input" (ICASSP 2023) and "Masked Modeling Duo: Towards a Universal Audio Pre-training Framework" (TASLP 2024).

    The log-mel patches of a clip are split by a random mask. The online encoder sees only the visible patches; a
    predictor (an MAE-style decoder: mask tokens at the masked places, positions, a few blocks) outputs a feature for
    every masked place. The target encoder, an EMA of the online encoder, sees only the masked patches and gives
    their features. The loss is the mean squared error of the L2-normalised prediction and target features of the
    masked patches (2 - 2 cos). Unlike MAE, the target is a representation, not the input, so both networks must
    model the input, which is why M2D's features probe well. Only the online encoder is exported.

    Args:
        encoder: the patch transformer being pre-trained.
        mask_ratio: share of patches masked (M2D: 0.6 to 0.7).
        masking: "random" patches, or whole "time" columns or "frequency" rows.
        predictor_dim: predictor width (M2D: 512).
        predictor_depth: predictor blocks (M2D: 8).
        predictor_heads: predictor attention heads.
        base_momentum: EMA momentum of the target at the first step, raised to 1 on BYOL's cosine schedule. M2D
            uses 0.99995 over hundreds of thousands of steps; runs of a few thousand steps need a faster target.
        optimizer: builds the optimiser (M2D: AdamW).
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`).
    """

    def __init__(
        self,
        encoder: PatchTransformer,
        mask_ratio: float = 0.7,
        masking: Masking = "random",
        predictor_dim: int = 128,
        predictor_depth: int = 2,
        predictor_heads: int = 4,
        base_momentum: float = 0.99,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1): both branches need patches, got {mask_ratio}")
        self.mask_ratio = mask_ratio
        self.masking = masking
        self.base_momentum = base_momentum
        self.predictor = MAEDecoder(encoder.token_dim, encoder.token_dim, predictor_dim, predictor_depth,
                                    predictor_heads)
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)

    def split(self, mask: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """The visible and the masked patches' indices of a mask drawn with this model's ratio and kind."""
        return split_indices(mask, masked_count(grid, self.mask_ratio, self.masking))

    def online(self, patches: torch.Tensor, grid: tuple[int, int], mask: torch.Tensor) -> torch.Tensor:
        """Predicted features of the masked patches from the visible ones: (B, N, P) → (B, n_masked, D)."""
        keep, hidden = self.split(mask, grid)  # (B, n_visible), (B, n_masked)
        visible = self.encoder.encode_patches(patches, grid, keep)  # type: ignore[operator]
        return self.predictor(visible, keep, hidden, grid)[:, keep.shape[1]:]  # (B, n_masked, D)

    @torch.no_grad()
    def target(self, patches: torch.Tensor, grid: tuple[int, int], mask: torch.Tensor) -> torch.Tensor:
        """The target encoder's features of the masked patches, from them alone: (B, N, P) → (B, n_masked, D)."""
        self.target_encoder.eval()  # no dropout or SpecAugment in the target
        return self.target_encoder.encode_patches(patches, grid, self.split(mask, grid)[1])

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        wave = batch["views"][:, 0]  # (B, S)
        patches, grid = self.encoder.patches(wave)  # type: ignore[operator]  # (B, N, P)
        mask = patch_mask(len(wave), grid, self.mask_ratio, self.masking, wave.device)  # (B, N)
        predicted, target = self.online(patches, grid, mask), self.target(patches, grid, mask)  # (B, n_masked, D)
        loss = byol_loss(predicted.flatten(0, 1), target.flatten(0, 1))  # per masked patch: ‖p̂ - ẑ‖² = 2 - 2 cos
        self.log("train/loss", loss, prog_bar=True, batch_size=len(wave))
        return loss

    def after_step(self, step: int) -> None:
        tau = target_momentum(self.base_momentum, step, int(self.trainer.estimated_stepping_batches))
        ema_update(self.target_encoder, self.encoder, tau)
        self.log("train/target_momentum", tau, batch_size=1)
