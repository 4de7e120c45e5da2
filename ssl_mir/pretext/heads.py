"""Heads that sit on top of an encoder during pre-training and are discarded at export."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssl_mir.encoders.transformer import Block, device_positions
from ssl_mir.frontends import CQT
from ssl_mir.pretext.losses import bilinear_contrastive


class ProjectionHead(nn.Module):
    """Linear → ReLU → Linear, as in SimCLR (Chen et al. 2020) and CLMR. (B, D) → (B, out_dim)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class CQTProfileHead(nn.Module):
    """MERT's musical teacher (Li et al., "MERT: Acoustic Music Understanding Model with Large-Scale Self-supervised
    Training", ICLR 2024) at the clip level: a linear head predicts, from a view's clip embedding, that view's log-CQT
    averaged over time and standardised over its bins (seven octaves of semitones from C1). The profile holds which
    pitches sound and how often, which contrastive views otherwise need not keep.

    Args:
        in_dim: encoder width.
        sample_rate: the views' rate.
        hop_length: CQT frame hop.
    """

    def __init__(self, in_dim: int, sample_rate: int, hop_length: int = 256) -> None:
        super().__init__()
        self.cqt = CQT(sample_rate, hop_length)
        self.head = nn.Linear(in_dim, self.cqt.n_bins)

    @torch.no_grad()
    def target(self, wave: torch.Tensor) -> torch.Tensor:
        """(N, S) → (N, K): time-averaged log-CQT, each row standardised over its K bins."""
        profile = self.cqt(wave)[:, 0].mean(dim=-1)  # (N, K)
        return F.layer_norm(profile, profile.shape[-1:])

    def loss(self, h: torch.Tensor, wave: torch.Tensor) -> torch.Tensor:
        """MSE between the head's prediction from h (N, D) and the target of wave (N, S)."""
        return F.mse_loss(self.head(h).float(), self.target(wave))


class BilinearHead(nn.Module):
    """COLA's head and score (Saeed et al. 2021): Linear → LayerNorm → tanh, then the loss of a learnt bilinear
    similarity between the two segments of each clip, the batch's other clips as negatives.

    Args:
        in_dim: encoder width.
        dim: head width (COLA: 512).
    """

    def __init__(self, in_dim: int, dim: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, dim), nn.LayerNorm(dim), nn.Tanh())
        self.similarity = nn.Linear(dim, dim, bias=False)  # W of aᵀ W p

    def loss(self, h: torch.Tensor) -> torch.Tensor:
        """h (B, 2, D), two segments per clip → COLA's cross-entropy."""
        g = self.net(h)  # (B, 2, d)
        return bilinear_contrastive(g[:, 0], g[:, 1], self.similarity.weight)


class MAEDecoder(nn.Module):
    """The light decoder of a masked autoencoder (He et al. 2022): encoded visible tokens are projected to `dim`, a
    mask token stands for each patch to be predicted, fixed 2D sinusoidal positions are added, a few transformer
    blocks run over them together, and a linear layer predicts each patch.

    The patches to predict need not be all the masked ones: CrossMAE (Fu et al., "Rethinking Patch Dependence for
    Masked Autoencoders", 2024) decodes a random part of them. Without a causal mask, the order of the tokens does not
    matter, so visible tokens come first and mask tokens after, with no scatter into the grid.

    Args:
        in_dim: encoder width.
        patch_dim: values per patch.
        dim: decoder width.
        depth: decoder blocks.
        heads: decoder attention heads.
    """

    def __init__(self, in_dim: int, patch_dim: int, dim: int = 128, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.dim = dim
        self.embed = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.blocks = nn.Sequential(*(Block(dim, heads) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.predict = nn.Linear(dim, patch_dim)

    def forward(self, visible: torch.Tensor, keep: torch.Tensor, queries: torch.Tensor,
                grid: tuple[int, int]) -> torch.Tensor:
        """visible (B, n, in_dim) at grid indices keep (B, n), mask tokens at grid indices queries (B, m) →
        predictions (B, n + m, patch_dim): the visible patches' first, then the queried ones."""
        positions = device_positions(grid, self.dim, visible.device)  # (F'·T', dim)
        seen = self.embed(visible) + positions[keep]  # (B, n, dim)
        asked = self.mask_token + positions[queries]  # (B, m, dim)
        x = torch.cat([seen, asked.to(seen.dtype)], dim=1)  # (B, n + m, dim)
        return self.predict(self.norm(self.blocks(x)))  # (B, n + m, patch_dim)
