"""Bidirectional recurrent layers over spectrogram frames (Choi et al. 2017, §4.3: r1-r1)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.family import Aggregation, FamilyEncoder
from ssl_mir.frontends import Frontend


class BiRNN(FamilyEncoder):
    """front end frames (B, T, F) → [bidirectional LSTM or GRU] per layer: frames (B, T, 2 · hidden).

    Args:
        sample_rate: input rate.
        frontend: time-frequency front end (default: 96-band log-mel).
        cell: "lstm" or "gru".
        hidden: units per direction.
        layers: stacked bidirectional layers.
        aggregation: clip pooling (mean, max, strided, recurrent).
        spec_augment: SpecAugment masks of the front end's output while training (Park et al. 2019).
    """

    def __init__(self, sample_rate: int = 16000, frontend: Frontend | None = None,
                 cell: Literal["lstm", "gru"] = "gru", hidden: int = 128, layers: int = 2,
                 aggregation: Aggregation = "mean",
                 spec_augment: SpecAugment | None = None) -> None:
        super().__init__()
        self.setup(sample_rate, frontend, 1, 2 * hidden, aggregation, spec_augment)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnns = nn.ModuleList(rnn(a, hidden, batch_first=True, bidirectional=True)
                                  for a in [self.bins, *[2 * hidden] * (layers - 1)])

    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        x = spec[:, 0].transpose(1, 2)  # (B, T, F)
        states = []
        for rnn in self.rnns:
            x = rnn(x)[0]  # (B, T, 2·hidden)
            states.append(x)
        return states
