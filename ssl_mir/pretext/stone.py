"""STONE: key learnt from transposition, the one symmetry of music whose size is known for free."""

from __future__ import annotations

import functools
from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.chromanet import ChromaNet, crop_bins, octave_average
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
        mode_prior_weight: weight of S-KEY's mode pseudo-labels (0: logged only, as `train/mode_prior`: how far
            the first mode channel is from "major by Krumhansl-Kessler").
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
        mode_prior_weight: float = 0.0,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        if not isinstance(encoder, ChromaNet):
            raise ValueError(f"STONE needs a ChromaNet encoder (a CQT with a spare octave to transpose by cropping), "
                             f"got {type(encoder).__name__}")
        self.omega, self.temperature, self.mode_weight = omega, temperature, mode_weight
        self.mode_prior_weight = mode_prior_weight

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        terms = stone_terms(self.encoder, batch["views"], self.omega, self.temperature)  # type: ignore[arg-type]
        loss = terms["key"] + self.mode_weight * terms["mode"] + self.mode_prior_weight * terms["mode_prior"]
        self.log_dict({"train/loss": loss, "train/key_loss": terms["key"], "train/mode_loss": terms["mode"],
                       "train/mode_prior": terms["mode_prior"]}, prog_bar=True, batch_size=len(batch["views"]))
        return loss


# Krumhansl & Kessler (1982) probe-tone ratings of the 12 pitch classes from the tonic, major and minor.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


@functools.lru_cache(maxsize=None)
def key_templates(device: torch.device) -> torch.Tensor:
    """The 24 Krumhansl-Kessler key profiles (12 major rotations, then 12 minor), centred and unit-norm, (24, 12):
    made once per device and kept there (copied at every step, they would make a GPU's host wait)."""
    with torch.inference_mode(False):
        keys = torch.stack([torch.roll(torch.tensor(p), k) for p in (KK_MAJOR, KK_MINOR) for k in range(12)])
        keys = keys - keys.mean(dim=1, keepdim=True)
        return (keys / keys.norm(dim=1, keepdim=True)).to(device)


def mode_pseudo_labels(profile: torch.Tensor) -> torch.Tensor:
    """S-KEY's mode pseudo-labels from audio alone: 1 where a pitch-class profile (N, 12), in any rotation, correlates
    best with a major Krumhansl-Kessler key (of the 24), else 0. (N,) float, no gradient."""
    centred = profile.detach().float() - profile.detach().float().mean(dim=1, keepdim=True)
    corr = (centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-8)) @ key_templates(profile.device).T  # (N, 24)
    return (corr.argmax(dim=1) < 12).float()  # (N,)


def crops_of(encoder: ChromaNet, views: torch.Tensor, original: torch.Tensor,
             transposed: torch.Tensor) -> torch.Tensor:
    """(B, 2, S) segments → (3B, 1, n_bins, T) CQT crops of A, B (at `original`) and A transposed (at `transposed`)."""
    b = views.shape[0]
    cqt = encoder.frontend(views.flatten(0, 1))  # (2B, 1, F, T)
    cqt = cqt.view(b, 2, *cqt.shape[1:])  # (B, 2, 1, F, T)
    a, second = cqt[:, 0], cqt[:, 1]  # (B, 1, F, T)
    return torch.cat([crop_bins(a, original, encoder.n_bins), crop_bins(second, original, encoder.n_bins),
                      crop_bins(a, transposed, encoder.n_bins)])


def stone_terms(encoder: ChromaNet, views: torch.Tensor, omega: int = 7,
                temperature: float = 1.0) -> dict[str, torch.Tensor]:
    """STONE's terms for a batch of two segments per clip (B, 2, S), with a drawn transposition: "key" (the CPSD
    loss), "mode" (agreement of the views' mode mass) and "mode_prior" (S-KEY: binary cross-entropy of the first mode
    channel's mass of A and B against `mode_pseudo_labels` of their CQT's pitch-class profile)."""
    if views.shape[1] != 2:
        raise ValueError(f"STONE needs 2 views per clip, got {views.shape[1]} (set data.n_views: 2)")
    b = len(views)
    original, transposed = transposition_offsets(b, views.device)
    crops = crops_of(encoder, views, original, transposed)  # (3B, 1, n_bins, T)
    logits = encoder.key_logits(encoder.states_from_cqt(crops)[-1])  # (3B, 2, 12)
    y = torch.softmax(logits.flatten(1).float() / temperature, dim=1).view(3, b, 2, 12)
    first_mode = y[:, :, 0].sum(dim=-1)  # (3, B)
    profile = octave_average(crops[: 2 * b].float().exp().mean(dim=-1, keepdim=True))[:, 0, :, 0]  # (2B, 12)
    prior = torch.nn.functional.binary_cross_entropy(first_mode[:2].flatten().clamp(1e-6, 1 - 1e-6),
                                                     mode_pseudo_labels(profile))
    return {"key": stone_key_loss(*y.sum(dim=2), transposed - original, omega), "mode": mode_agreement(*first_mode),
            "mode_prior": prior}
