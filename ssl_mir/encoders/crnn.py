"""Convolutional recurrent network (Choi, Fazekas, Sandler & Cho, "Convolutional Recurrent Neural Networks for Music
Classification", ICASSP 2017)."""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.family import Aggregation, FamilyEncoder
from ssl_mir.frontends import Frontend


class CRNN(FamilyEncoder):
    """front end → BN → [Conv2d 3×3 → BN → ELU → MaxPool (freq_pool × 2)] per conv layer → frequency collapsed by max →
    GRU layers over time: frames (B, T / 2^L, gru_dim).

    Args:
        sample_rate: input rate.
        frontend: time-frequency front end (default: 96-band log-mel).
        channels: output channels per conv layer (Choi et al.: 64, 128, 128, 128).
        freq_pool: frequency pooling per conv layer.
        gru_dim: GRU width (the embedding width).
        gru_layers: stacked GRUs (Choi et al.: 2).
        aggregation: clip pooling (mean, max, strided, recurrent; the paper: the last GRU state).
        spec_augment: SpecAugment masks of the front end's output while training (Park et al. 2019).
    """

    def __init__(self, sample_rate: int = 16000, frontend: Frontend | None = None,
                 channels: list[int] = [64, 128, 128, 128], freq_pool: int = 3,  # noqa: B006 (config default)
                 gru_dim: int = 128, gru_layers: int = 2, aggregation: Aggregation = "recurrent",
                 spec_augment: SpecAugment | None = None) -> None:
        super().__init__()
        self.setup(sample_rate, frontend, 2 ** len(channels), gru_dim, aggregation, spec_augment)
        self.input_bn = nn.BatchNorm2d(1)
        sizes = [1, *channels]
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ELU(),
                          nn.MaxPool2d((freq_pool, 2), ceil_mode=True))
            for a, b in zip(sizes, sizes[1:]))
        self.grus = nn.ModuleList(nn.GRU(a, gru_dim, batch_first=True)
                                  for a in [channels[-1], *[gru_dim] * (gru_layers - 1)])

    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        x = self.input_bn(spec)  # (B, 1, F, T)
        states = []
        for conv in self.convs:
            x = conv(x)  # (B, C_l, F_l, T_l)
            states.append(x.amax(dim=2).transpose(1, 2))  # (B, T_l, C_l)
        h = states[-1]
        for gru in self.grus:
            h = gru(h)[0]  # (B, T, gru_dim)
            states.append(h)
        return states
