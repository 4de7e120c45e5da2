"""Masked token prediction: BEST-RQ's random-projection targets, or k-means targets (HuBERT / MERT)."""

from __future__ import annotations

from typing import Any, Literal, Optional

import torch
import torch.nn.functional as F
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from ssl_mir.encoders.transformer import PatchTransformer
from ssl_mir.frontends import CQT
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.losses import masked_ce, masked_mean, masked_mse
from ssl_mir.pretext.masking import span_mask
from ssl_mir.pretext.targets import KMeansTargets, RandomProjectionTargets, cqt_steps


class BestRQ(PretextModule):
    """Chiu et al., "Self-supervised Learning with Random-projection Quantizer for Speech Recognition" (ICML 2022).

    Targets come from a frozen quantiser of the input patches: a random projection onto `codebook_dim` dimensions
    and the nearest of `codebook_size` random unit vectors, for each of `n_codebooks` codebooks (the multi-softmax of
    BEST-RQ's follow-ups). With `targets` set to a file written by `ssl-mir targets`, the nearest k-means centroid
    is the target instead (HuBERT, Hsu et al. 2021; MERT, Li et al. 2024). Spans of time are masked; masked patches are
    replaced by noise (BEST-RQ) or their tokens by a learned mask embedding (HuBERT); the encoder sees every patch
    and a linear softmax per codebook predicts the targets at masked positions. With `cqt_weight` > 0 a linear head
    also reconstructs the log-CQT frames (each frame standardised over its bins) of masked time steps from the
    frequency-averaged tokens, MSE weighted by `cqt_weight`: MERT's auxiliary musical loss (Li et al. 2024).

    Args:
        encoder: the patch transformer being pre-trained.
        codebook_size: entries per codebook (BEST-RQ: 8192; smaller suits small corpora).
        codebook_dim: dimension of the random projection.
        n_codebooks: independent random quantisers, losses averaged.
        mask_prob: probability that a time step starts a masked span (BEST-RQ: 0.01 for 40 ms frames).
        mask_length: time steps per span (BEST-RQ: 400 ms).
        fill: "noise" (masked input patches become N(0, noise_std²)) or "embedding" (a learned mask token).
        noise_std: standard deviation of the fill noise.
        targets: a k-means targets file from `ssl-mir targets` instead of the random quantiser.
        quantiser_seed: draws the random projection and codebooks, independently of the run's seed.
        cqt_weight: weight of the CQT-reconstruction loss (0: off; MERT: 1).
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options (`lr_base_batch`).
    """

    def __init__(
        self,
        encoder: PatchTransformer,
        codebook_size: int = 1024,
        codebook_dim: int = 16,
        n_codebooks: int = 1,
        mask_prob: float = 0.1,
        mask_length: int = 5,
        fill: Literal["noise", "embedding"] = "noise",
        noise_std: float = 0.1,
        targets: Optional[str] = None,
        quantiser_seed: int = 0,
        cqt_weight: float = 0.0,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        self.mask_prob, self.mask_length = mask_prob, mask_length
        self.fill, self.noise_std = fill, noise_std
        if targets is None:
            self.quantiser: nn.Module = RandomProjectionTargets(encoder.patch_dim, codebook_size, codebook_dim,
                                                                n_codebooks, quantiser_seed)
        else:
            self.quantiser = KMeansTargets.load(targets, encoder)
        self.mask_embedding = nn.Parameter(torch.randn(encoder.token_dim) * 0.02) if fill == "embedding" else None
        self.heads = nn.ModuleList(nn.Linear(encoder.token_dim, self.quantiser.vocabulary)
                                   for _ in range(self.quantiser.n_codebooks))
        self.cqt_weight = cqt_weight
        if cqt_weight > 0:
            self.cqt = CQT(encoder.sample_rate, encoder.frontend.hop_length)
            self.cqt_head = nn.Linear(encoder.token_dim, encoder.patch_time * self.cqt.n_bins)

    def forward(self, wave: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, S) → per-codebook logits [(B, N, V)], targets (B, N, C), mask (B, N), encoded tokens (B, N, D)."""
        encoder: PatchTransformer = self.encoder  # type: ignore[assignment]
        patches, grid = encoder.patches(wave)  # (B, N, P)
        targets = self.quantiser(wave, patches, grid)  # (B, N, C)
        mask = span_mask(len(wave), grid, self.mask_prob, self.mask_length, wave.device)  # (B, N)
        if self.fill == "noise":
            patches = torch.where(mask[..., None], self.noise_std * torch.randn_like(patches), patches)
        tokens = encoder.tokens(patches)  # (B, N, D)
        if self.mask_embedding is not None:
            tokens = torch.where(mask[..., None], self.mask_embedding.to(tokens.dtype), tokens)
        encoded = encoder.encode(tokens + encoder.positions(grid))[-1]  # (B, N, D)
        return [head(encoded) for head in self.heads], targets, mask, encoded

    def cqt_loss(self, wave: torch.Tensor, encoded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """MSE of the log-CQT frames of masked time steps, each frame standardised over its bins."""
        b, n, d = encoded.shape
        steps = n // self.encoder.freq_patches  # type: ignore[operator]
        per_step = encoded.view(b, -1, steps, d).mean(dim=1)  # (B, T', D)
        target = cqt_steps(self.cqt, wave, steps, self.encoder.patch_time)  # type: ignore[arg-type]  # (B, T', t, K)
        target = F.layer_norm(target, target.shape[-1:]).flatten(2)  # (B, T', t·K)
        return masked_mse(self.cqt_head(per_step), target, mask.view(b, -1, steps)[:, 0], normalise=False)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        wave = batch["views"][:, 0]  # (B, S)
        logits, targets, mask, encoded = self(wave)
        loss = torch.stack([masked_ce(l, targets[..., c], mask) for c, l in enumerate(logits)]).mean()
        if self.cqt_weight > 0:
            cqt = self.cqt_loss(wave, encoded, mask)
            self.log("train/cqt_loss", cqt, batch_size=len(wave))
            loss = loss + self.cqt_weight * cqt
        with torch.no_grad():
            accuracy = torch.stack([masked_mean((l.argmax(-1) == targets[..., c]).float(), mask)
                                    for c, l in enumerate(logits)]).mean()
        self.log("train/loss", loss, prog_bar=True, batch_size=len(wave))
        self.log("train/masked_accuracy", accuracy, batch_size=len(wave))
        return loss

