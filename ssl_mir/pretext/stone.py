"""STONE: key learnt from transposition, the one symmetry of music whose size is known for free."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.chromanet import ChromaNet, crop_bins
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.losses import mode_agreement, stone_key_loss


def transposition_offsets(n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop offsets, in 0..12 (the spare octave), of the untransposed views and of the transposed one, for `n` clips:
    the shift k between them (the transposed view is k semitones lower) uniform on ±1..11, never 0 mod 12, and the
    untransposed offset uniform over those that leave room for it."""
    sign = torch.randint(0, 2, (n,), device=device) * 2 - 1
    shift = torch.randint(1, 12, (n,), device=device) * sign
    low, high = (-shift).clamp(min=0), (12 - shift).clamp(max=12)  # original + shift must stay in 0..12
    original = low + (torch.rand(n, device=device) * (high - low + 1)).long().clamp(max=high - low)
    return original, original + shift


class STONE(PretextModule):
    """Kong, Meseguer-Brocal, Lostanlen, Lagrange & Hennequin, "STONE: Self-supervised Tonality Estimator" (ISMIR
    2024), with the two-mode head of its 24-key variant (S-KEY, ICASSP 2025).

    Two segments A and B of a clip (the data module's views) are seen through the encoder's CQT at one drawn crop
    offset, and A once more at another offset: transposed by a known k semitones. The encoder gives each a distribution
    y over 2 modes × 12 pitch classes (softmax of its clip key logits / `temperature`); summed over the modes, the 12
    classes must agree between A and B and rotate by exactly k between A and its transposition (`stone_key_loss`, on
    the circle of fifths for ω = 7), and every view must give the same mode mass (`mode_agreement`). Nothing else is
    asked: no negatives, no augmentation invariance in pitch. Only the encoder is exported; its hidden states are the
    pitch-class profiles a probe reads.

    Args:
        encoder: a ChromaNet (an encoder with a CQT of one spare octave, `states_from_cqt` and `key_logits`).
        omega: the DFT coefficient of the loss (7: circle of fifths; 1: semitones).
        temperature: of the softmax over the 24 key logits.
        mode_weight: weight of the mode term (STONE's 24-key variant: 1.5).
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options.
    """

    def __init__(
        self,
        encoder: ChromaNet,
        omega: int = 7,
        temperature: float = 1.0,
        mode_weight: float = 1.5,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        if not isinstance(encoder, ChromaNet):
            raise ValueError(f"STONE needs a ChromaNet encoder (a CQT with a spare octave to transpose by cropping), "
                             f"got {type(encoder).__name__}")
        self.omega, self.temperature, self.mode_weight = omega, temperature, mode_weight

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        key, mode = stone_terms(self.encoder, batch["views"], self.omega, self.temperature)  # type: ignore[arg-type]
        loss = key + self.mode_weight * mode
        self.log_dict({"train/loss": loss, "train/key_loss": key, "train/mode_loss": mode}, prog_bar=True,
                      batch_size=len(batch["views"]))
        return loss


def key_distributions(encoder: ChromaNet, views: torch.Tensor, original: torch.Tensor, transposed: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
    """(B, 2, S) segments → (3, B, 2, 12) key distributions of A, B (cropped at `original`) and A transposed (cropped
    at `transposed`)."""
    b = views.shape[0]
    cqt = encoder.frontend(views.flatten(0, 1))  # (2B, 1, F, T)
    cqt = cqt.view(b, 2, *cqt.shape[1:])  # (B, 2, 1, F, T)
    a, second = cqt[:, 0], cqt[:, 1]  # (B, 1, F, T)
    inputs = torch.cat([crop_bins(a, original, encoder.n_bins), crop_bins(second, original, encoder.n_bins),
                        crop_bins(a, transposed, encoder.n_bins)])  # (3B, 1, n_bins, T)
    logits = encoder.key_logits(encoder.states_from_cqt(inputs)[-1])  # (3B, 2, 12)
    y = torch.softmax(logits.flatten(1).float() / temperature, dim=1)  # (3B, 24)
    return y.view(3, b, 2, 12)


def stone_terms(encoder: ChromaNet, views: torch.Tensor, omega: int = 7,
                temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """STONE's key loss and mode term for a batch of two segments per clip (B, 2, S), with a drawn transposition."""
    if views.shape[1] != 2:
        raise ValueError(f"STONE needs 2 views per clip, got {views.shape[1]} (set data.n_views: 2)")
    original, transposed = transposition_offsets(len(views), views.device)
    y = key_distributions(encoder, views, original, transposed, temperature)  # (3, B, 2, 12)
    key = stone_key_loss(*y.sum(dim=2), transposed - original, omega)
    mode = mode_agreement(*y[:, :, 0].sum(dim=-1))
    return key, mode
