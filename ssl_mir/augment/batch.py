"""The batched backend: a parsed transform list applied to a whole batch on the training device.

Which clips a transform touches (probability p) and their parameters are drawn on the CPU from torch's generator,
so a seed gives the same draws on CPU and CUDA; noise is generated on the batch's device. Each transform runs once
per batch on the rows it applies to. This is where BYOL-A v2 and solo-learn (DALI) moved augmentation, so that the
CPU does not starve the accelerator.

Under DDP every rank draws for the global batch (its rows and every other rank's) and applies its own slice: ranks
seeded alike consume the generator alike and never repeat each other's draws.
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.transform import Transform


class BatchAugment(nn.Module):
    """(N, S) → (N, S') waveforms, S' = S unless the list crops.

    Args:
        transforms: parsed transforms (`augment.vocabulary.parse`).
        sample_rate: the waveforms' rate.
    """

    def __init__(self, transforms: list[Transform], sample_rate: int) -> None:
        super().__init__()
        self.transforms = transforms
        self.sample_rate = sample_rate

    @torch.no_grad()
    def forward(self, x: torch.Tensor, shard: tuple[int, int] = (0, 1)) -> torch.Tensor:
        """Augment this rank's rows. `shard` is (rank, world size): x holds global rows rank·N … rank·N + N - 1."""
        rank, world = shard
        for transform in self.transforms:
            x = self.apply_some(transform, x, len(x) * world, rank * len(x))
        return x

    def apply_some(self, transform: Transform, x: torch.Tensor, n_global: int, first: int) -> torch.Tensor:
        """Draw for each of `n_global` rows whether `transform` applies, and its parameters; apply it to the rows of
        x (global rows first … first + N - 1). (N, S) → (N, S')."""
        rows = torch.arange(n_global)[torch.rand(n_global) < transform.p]
        if len(rows) == 0:
            return x
        params = transform.draw(len(rows))
        mine = (rows >= first) & (rows < first + len(x))  # rows are sorted: this rank's come in order
        local = {k: v[mine] for k, v in params.items()}
        if int(mine.sum()) == len(x):  # every row of x (always so for crop): no gather and scatter
            return transform.apply(x, local, self.sample_rate)
        if not bool(mine.any()):
            return x
        index = (rows[mine] - first).to(x.device)
        return x.index_copy(0, index, transform.apply(x.index_select(0, index), local, self.sample_rate))
