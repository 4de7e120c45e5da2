"""EMA target networks, shared by the methods that regress a slowly moving copy of themselves (BYOL-A, M2D)."""

from __future__ import annotations

import math

import torch
from torch import nn


def target_momentum(base: float, step: int, total: int) -> float:
    """BYOL's cosine schedule (Grill et al. 2020): τ = 1 - (1 - τ_base) (cos(π k / K) + 1) / 2, from τ_base to 1."""
    return 1.0 - (1.0 - base) * (math.cos(math.pi * min(step, total) / max(total, 1)) + 1.0) / 2.0


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """target ← τ · target + (1 - τ) · online, parameter by parameter; buffers (BN statistics) are copied."""
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(momentum).add_(o.detach(), alpha=1.0 - momentum)
    for t, o in zip(target.buffers(), online.buffers()):
        t.copy_(o)
