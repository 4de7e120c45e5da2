"""Optimiser and scheduler wiring shared by every trainable module (injected callables, LightningCLI style)."""

from __future__ import annotations

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
