"""Optimiser and scheduler wiring shared by every trainable module (injected callables, LightningCLI style)."""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn


def parameter_groups(module: nn.Module) -> list[dict]:
    """The trainable parameters in two groups: weights, and norm and bias parameters (at most one dimension) with
    weight decay 0. timm's LARS and LAMB adapt only groups with weight decay, so the second group is neither decayed
    nor adapted, as SimCLR (Chen et al. 2020, after You et al. 2017) and MAE (He et al. 2022) train."""
    weights, norms = [], []
    for p in module.parameters():
        if p.requires_grad:
            (norms if p.ndim <= 1 else weights).append(p)
    return [{"params": weights}, {"params": norms, "weight_decay": 0.0}]


def global_batch(trainer: pl.Trainer) -> int:
    """Clips per optimiser step over every rank and accumulated micro-batch."""
    batch_size = getattr(trainer.datamodule, "batch_size", None)
    if batch_size is None:
        raise ValueError("the linear scaling rule needs the data module's batch_size")
    return int(batch_size) * trainer.world_size * trainer.accumulate_grad_batches


def build_optimizers(module: nn.Module, optimizer: OptimizerCallable, scheduler: LRSchedulerCallable | None,
                     lr_scale: float = 1.0) -> dict:
    """What `configure_optimizers` returns: the optimiser over `parameter_groups`, every group's learning rate
    times `lr_scale`, and the scheduler stepped every optimiser step."""
    opt = optimizer(parameter_groups(module))
    for group in opt.param_groups:
        group["lr"] *= lr_scale
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
