"""Heads that sit on top of an encoder during pre-training and are discarded at export."""

from __future__ import annotations

import torch
from torch import nn


class ProjectionHead(nn.Module):
    """Linear → ReLU → Linear, as in SimCLR (Chen et al. 2020) and CLMR. (B, D) → (B, out_dim)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)
