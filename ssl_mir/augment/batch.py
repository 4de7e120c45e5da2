"""The batched backend: a parsed transform list applied to a whole batch on the training device.

Which clips a transform touches (probability p) and their parameters are drawn on the CPU from torch's generator,
so a seed gives the same draws on CPU and CUDA; noise is generated on the batch's device. Each transform runs once
per batch on the rows it applies to. This is where BYOL-A v2 and solo-learn (DALI) moved augmentation, so that the
CPU does not starve the accelerator.
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.vocabulary import OneOf, Transform


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
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for transform in self.transforms:
            x = self.apply_some(transform, x, torch.arange(len(x)))
        return x

    def apply_some(self, transform: Transform, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Apply `transform` with its probability to each of `rows` of x. (N, S) → (N, S')."""
        rows = rows[torch.rand(len(rows)) < transform.p]
        if len(rows) == 0:
            return x
        params = transform.draw(len(rows))
        if isinstance(transform, OneOf):
            for k, member in enumerate(transform.transforms):
                x = self.apply_some(member, x, rows[params["choice"] == k])
            return x
        if len(rows) == len(x) and transform.p == 1.0:
            return transform.apply(x, params, self.sample_rate)
        index = rows.to(x.device)
        return x.index_copy(0, index, transform.apply(x.index_select(0, index), params, self.sample_rate))
