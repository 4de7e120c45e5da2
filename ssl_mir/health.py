"""Collapse and health signals of pre-training, logged as metrics while it runs.

`health/std`: the mean over dimensions of the standard deviation across the batch of L2-normalised embeddings
(SimSiam, Chen & He, CVPR 2021): about 1/sqrt(D) for embeddings spread over the sphere, 0 when they collapse to one
point. `health/rankme`: the effective rank of the batch's embedding matrix (RankMe; Garrido et al., "RankMe:
Assessing the Downstream Performance of Pretrained Self-Supervised Representations by Their Rank", ICML 2023), from
1 (collapsed to a line) to min(B, D); it tracks downstream probe accuracy without labels.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F


def embedding_std(x: torch.Tensor) -> torch.Tensor:
    """Mean per-dimension std across the batch of L2-normalised rows: (B, D) → scalar."""
    return F.normalize(x.float(), dim=1).std(dim=0, unbiased=False).mean()


def rankme(x: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """exp of the entropy of the L1-normalised singular values of (B, D) embeddings (Garrido et al. 2023, eq. 1)."""
    s = torch.linalg.svdvals(x.float())
    p = s / s.sum() + eps
    return torch.exp(-(p * p.log()).sum())


class HealthMonitor(pl.Callback):
    """Every `every_n_steps` training steps, embed the batch's first view with the encoder in eval mode, without
    gradients, and log `health/std` and `health/rankme`. No random number is drawn and no weight or statistic
    changes, so a run is the same with and without it.

    Args:
        every_n_steps: steps between two measurements.
    """

    def __init__(self, every_n_steps: int = 50) -> None:
        self.every_n_steps = every_n_steps

    @torch.no_grad()
    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: object,
                           batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        if trainer.global_step % self.every_n_steps:
            return
        encoder = pl_module.encoder
        was_training = encoder.training
        encoder.eval()  # no SpecAugment, BatchNorm statistics untouched
        try:
            x = encoder.embed(batch["views"][:, 0])  # (B, D)
        finally:
            encoder.train(was_training)
        pl_module.log_dict({"health/std": embedding_std(x), "health/rankme": rankme(x)}, batch_size=len(x))
