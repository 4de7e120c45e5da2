"""Collapse and health signals of pre-training, logged as metrics while it runs.

`health/std`: the mean over dimensions of the standard deviation across the batch of L2-normalised embeddings
(SimSiam, Chen & He, CVPR 2021): about 1/sqrt(D) for embeddings spread over the sphere, 0 when they collapse to one
point. `health/rankme`: the effective rank of the batch's embedding matrix (RankMe; Garrido et al., "RankMe:
Assessing the Downstream Performance of Pretrained Self-Supervised Representations by Their Rank", ICML 2023), from
1 (collapsed to a line) to min(B, D); it tracks downstream probe accuracy without labels.

Collapse, the common failure of self-supervised runs, is flagged when `health/std` · sqrt(D) falls below
`collapse_ratio` (every input mapped to nearly the same point; non-finite embeddings count as collapsed): the run
warns and logs `health/collapsed`, and a run still collapsed at its last measurement fails (`RunFailedError`) after
its encoder is exported, so that it can be inspected but is not taken for a success.
"""

from __future__ import annotations

import logging
import math

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ssl_mir.errors import RunFailedError

log = logging.getLogger(__name__)


def embedding_std(x: torch.Tensor) -> torch.Tensor:
    """Mean per-dimension std across the batch of L2-normalised rows: (B, D) → scalar."""
    return F.normalize(x.float(), dim=1).std(dim=0, unbiased=False).mean()


def rankme(x: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """exp of the entropy of the L1-normalised singular values of (B, D) embeddings (Garrido et al. 2023, eq. 1)."""
    s = torch.linalg.svdvals(x.float())
    p = s / s.sum() + eps
    return torch.exp(-(p * p.log()).sum())


class HealthMonitor(pl.Callback):
    """Every `every_n_steps` training steps and at the end of training, embed the batch's first view with the
    encoder in eval mode, without gradients, and log `health/std`, `health/rankme` and `health/collapsed`. No
    random number is drawn and no weight or statistic changes, so a run is the same with and without it.

    Args:
        every_n_steps: steps between two measurements.
        collapse_ratio: `health/std` · sqrt(D) below this is collapse (0 when every input gives the same
            embedding; measured on the pieces corpus: 0.09 for random weights of the short-chunk CNN, 0.65 after
            SimCLR, 0.71 after M2D).
    """

    def __init__(self, every_n_steps: int = 50, collapse_ratio: float = 0.01) -> None:
        self.every_n_steps = every_n_steps
        self.collapse_ratio = collapse_ratio
        self.collapsed_at: int | None = None  # the step of the last measurement, if it found collapse
        self.measured_at = -1
        self.last_view: torch.Tensor | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: object,
                           batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.last_view = batch["views"][:, 0]
        if trainer.global_step % self.every_n_steps == 0:
            self.measure(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.last_view is not None and self.measured_at != trainer.global_step:
            self.measure(trainer, pl_module, log_metrics=False)  # Lightning allows no logging here

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.fast_dev_run:  # a smoke test of a step or two: initial weights may well map inputs together
            return
        if self.collapsed_at is not None:  # after ExportEncoder, which comes first among the run's callbacks
            raise RunFailedError(f"the representation collapsed (health/std x sqrt(D) below {self.collapse_ratio}"
                                 f" at step {self.collapsed_at}, the last measurement): every input gets nearly "
                                 f"the same embedding, so this run is not a usable encoder. Lower the learning "
                                 f"rate or check the augmentations")

    @torch.no_grad()
    def measure(self, trainer: pl.Trainer, pl_module: pl.LightningModule, log_metrics: bool = True) -> None:
        assert self.last_view is not None
        encoder = pl_module.encoder
        was_training = encoder.training
        encoder.eval()  # no SpecAugment, BatchNorm statistics untouched
        try:
            x = encoder.embed(self.last_view)  # (B, D)
        finally:
            encoder.train(was_training)
        finite = bool(torch.isfinite(x).all())
        std = embedding_std(x) if finite else torch.tensor(0.0)
        collapsed = not finite or float(std) * math.sqrt(x.shape[1]) < self.collapse_ratio
        step = trainer.global_step
        if collapsed and self.collapsed_at is None:
            log.warning("step %d: representation collapse (health/std %.2e for %d dimensions%s)", step, float(std),
                        x.shape[1], "" if finite else ", non-finite embeddings")
        self.collapsed_at = step if collapsed else None
        self.measured_at = step
        if log_metrics:
            values = {"health/std": std, "health/collapsed": float(collapsed)}
            if finite:
                values["health/rankme"] = rankme(x)
            pl_module.log_dict(values, batch_size=len(x))
