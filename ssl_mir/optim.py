"""Optimiser and scheduler wiring shared by every trainable module (injected callables, LightningCLI style)."""

from __future__ import annotations

import math
from typing import Iterable

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable


def build_optimizers(
    params: Iterable[torch.nn.Parameter], optimizer: OptimizerCallable, scheduler: LRSchedulerCallable | None
) -> dict:
    """What `configure_optimizers` returns: the optimiser, and the scheduler stepped every optimiser step."""
    opt = optimizer(params)
    if scheduler is None:
        return {"optimizer": opt}
    return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler(opt), "interval": "step"}}


class WarmupCosine(torch.optim.lr_scheduler.LambdaLR):
    """Linear warm-up then cosine decay, per optimiser step: the factor on the base learning rate rises from
    1 / warmup_steps to 1 over `warmup_steps`, then follows a half cosine down to `final_factor` at `total_steps`
    and stays there (warm-up: Goyal et al. 2017; cosine: Loshchilov & Hutter, SGDR, ICLR 2017; as SimCLR, BYOL, MAE
    and M2D schedule).

    Args:
        optimizer: the optimiser whose learning rates it scales.
        warmup_steps: steps of linear warm-up.
        total_steps: steps until the end of the decay (set it to the run's trainer.max_steps).
        final_factor: the factor at and after `total_steps`.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, warmup_steps: int = 100, total_steps: int = 1000,
                 final_factor: float = 0.0) -> None:
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
        self.warmup_steps, self.total_steps, self.final_factor = warmup_steps, total_steps, final_factor
        super().__init__(optimizer, self.factor)

    def factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.final_factor + (1.0 - self.final_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
