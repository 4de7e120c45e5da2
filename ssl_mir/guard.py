"""Divergence guard: a NaN or infinite loss, gradient or weight never passes silently, and is never saved.

Every training run gets `NonFiniteGuard` from the CLI. Before each optimiser step it checks the gradients: a
non-finite one stops the run (`RunFailedError`, naming the step and the last good checkpoint), or with
`on_nonfinite: skip` the step is skipped (no update), logged and counted, up to `max_skips`. A checkpoint or an
exported encoder with a non-finite weight or buffer (BatchNorm statistics included) is refused before anything is
written, so the last good checkpoint is never replaced by a broken one.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import pytorch_lightning as pl
import torch

from ssl_mir.errors import RunFailedError
from ssl_mir.export import all_finite, non_finite

log = logging.getLogger(__name__)

OnNonFinite = Literal["raise", "skip"]


def last_checkpoint(trainer: pl.Trainer) -> str:
    """The path of the newest checkpoint written by this run, or a sentence saying there is none."""
    path = getattr(trainer.checkpoint_callback, "last_model_path", "") or ""
    return path or "none written yet"


def _listing(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


class NonFiniteGuard(pl.Callback):
    """Stop (or skip) at the first non-finite gradient; refuse to checkpoint non-finite weights.

    Args:
        on_nonfinite: "raise" stops the run at the first non-finite gradient; "skip" drops that step's update.
        max_skips: with "skip", the run stops once more steps than this were skipped.
    """

    def __init__(self, on_nonfinite: OnNonFinite = "raise", max_skips: int = 10) -> None:
        self.on_nonfinite = on_nonfinite
        self.max_skips = max_skips
        self.skipped = 0

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        if "16-mixed" == str(trainer.precision):  # fp16's grad scaler skips such steps itself
            return
        if all_finite(p.grad for p in pl_module.parameters()):  # one read-back per step
            return
        bad = non_finite((n, p.grad) for n, p in pl_module.named_parameters())
        step = trainer.global_step
        if self.on_nonfinite == "skip" and self.skipped < self.max_skips:
            self.skipped += 1
            optimizer.zero_grad(set_to_none=True)  # parameters without a gradient are not updated
            log.warning("step %d: non-finite gradient of %s; step skipped (%d of at most %d)", step,
                        _listing(bad), self.skipped, self.max_skips)
            pl_module.log("train/nonfinite_skipped", float(self.skipped), batch_size=1)
            return
        more = f" after {self.skipped} skipped steps" if self.skipped else ""
        raise RunFailedError(f"step {step}: the loss or its gradient is NaN or infinite (gradient of "
                             f"{_listing(bad)}){more}; the last good checkpoint is {last_checkpoint(trainer)}. "
                             f"Lower the learning rate, or set --on_nonfinite skip to drop such steps")

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        bad = non_finite(checkpoint["state_dict"].items())
        if bad:
            raise RunFailedError(f"step {trainer.global_step}: refusing to write a checkpoint whose weights are NaN "
                                 f"or infinite ({_listing(bad)}); the last good checkpoint is "
                                 f"{last_checkpoint(trainer)}. Lower the learning rate")

    def state_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped = int(state_dict["skipped"])
