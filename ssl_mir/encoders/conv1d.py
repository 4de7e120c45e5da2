"""1D convolutions with full-frequency kernels over time (Choi et al. 2017, §4.2: c1-p1-c1-p1)."""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.family import Aggregation, FamilyEncoder
from ssl_mir.frontends import Frontend


class Conv1dEncoder(FamilyEncoder):
    """front end (B, F, T), bins as channels → [Conv1d (k over time, all bins) → BN → ReLU → MaxPool1d] per layer:
    frames (B, T / pool^L, D).

    Args:
        sample_rate: input rate.
        frontend: time-frequency front end (default: 96-band log-mel).
        channels: output channels per layer; the last is the embedding width.
        kernel: kernel length in frames.
        pool: time pooling per layer.
        aggregation: clip pooling (mean, max, strided, recurrent).
        spec_augment: SpecAugment masks of the front end's output while training (Park et al. 2019).
    """

    def __init__(self, sample_rate: int = 16000, frontend: Frontend | None = None,
                 channels: list[int] = [256, 256, 256, 512], kernel: int = 3,  # noqa: B006 (config default)
                 pool: int = 2, aggregation: Aggregation = "mean",
                 spec_augment: SpecAugment | None = None) -> None:
        super().__init__()
        self.setup(sample_rate, frontend, pool ** len(channels), channels[-1], aggregation, spec_augment)
        sizes = [self.bins, *channels]
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv1d(a, b, kernel, padding=kernel // 2), nn.BatchNorm1d(b), nn.ReLU(),
                          nn.MaxPool1d(pool, ceil_mode=True))
            for a, b in zip(sizes, sizes[1:]))

    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        x = spec[:, 0]  # (B, F, T)
        states = []
        for layer in self.layers:
            x = layer(x)  # (B, C_l, T_l)
            states.append(x.transpose(1, 2))  # (B, T_l, C_l)
        return states
