"""What the tutorial's encoder families share: an injected front end, and a configurable clip aggregation.

Choi et al., "A Tutorial on Deep Learning for Music Information Retrieval" (2017): §3.2 for the representations,
§5.2 for aggregation in time-invariant problems (pooling, strided convolution, many-to-one recurrence).
"""

from __future__ import annotations

from typing import Literal

from abc import abstractmethod

import torch
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.base import Encoder
from ssl_mir.frontends import Frontend, LogMel

Aggregation = Literal["mean", "max", "strided", "recurrent"]


class Aggregator(nn.Module):
    """Frames (B, T, D) → clip (B, D): global average or max pooling; a stride-2 convolution applied until one step
    is left (its weights shared across steps, so any length works); or the last state of a GRU (many-to-one)."""

    def __init__(self, kind: Aggregation, dim: int) -> None:
        super().__init__()
        self.kind = kind
        self.net: nn.Module | None = None
        if kind == "strided":
            self.net = nn.Sequential(nn.Conv1d(dim, dim, kernel_size=3, stride=2, padding=1), nn.ReLU())
        elif kind == "recurrent":
            self.net = nn.GRU(dim, dim, batch_first=True)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if self.kind == "mean":
            return frames.mean(dim=1)
        if self.kind == "max":
            return frames.amax(dim=1)
        if self.kind == "recurrent":
            return self.net(frames)[1][-1]  # type: ignore[index,misc]  # (B, D), the last hidden state
        x = frames.transpose(1, 2)  # (B, D, T)
        while x.shape[-1] > 1:
            x = self.net(x)  # type: ignore[misc]  # (B, D, ceil(T / 2))
        return x[..., 0]


class FamilyEncoder(Encoder):
    """An encoder over a front end's time-frequency frames, with a configurable aggregation; subclasses call
    `setup(...)` first and then build their layers on `self.bins` input features per frame."""

    def setup(self, sample_rate: int, frontend: Frontend | None, time_reduction: int, embed_dim: int,
              aggregation: Aggregation, spec_augment: SpecAugment | None = None) -> None:
        self.sample_rate, self.embed_dim = sample_rate, embed_dim
        self.spec_augment = spec_augment
        self.frontend = frontend if frontend is not None else LogMel(sample_rate, n_mels=96)
        rate = self.frontend.get_config().get("sample_rate", sample_rate)
        if rate != sample_rate:
            raise ValueError(f"the front end expects {rate} Hz but the encoder's sample_rate is {sample_rate}")
        with torch.no_grad():
            probe = self.frontend(torch.zeros(1, sample_rate))  # (1, 1, F, T)
        if probe.dim() != 4:
            raise ValueError(f"{type(self).__name__} needs a time-frequency front end, got output of shape "
                             f"{tuple(probe.shape)} from {type(self.frontend).__name__}")
        self.bins = probe.shape[2]
        self.frame_rate = sample_rate / self.frontend.hop_length / time_reduction
        self.aggregator = Aggregator(aggregation, embed_dim)

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        spec = self.frontend(wave)  # (B, 1, F, T)
        if self.spec_augment is not None:  # masks while training only
            spec = self.spec_augment(spec)
        return self.states_from_spectrogram(spec)

    @abstractmethod
    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        """The layers after the front end: (B, 1, F, T) → per-layer frames (B, T_l, D_l). Methods that augment the
        spectrogram (BYOL-A) call this directly."""

    def pool(self, frames: torch.Tensor) -> torch.Tensor:
        return self.aggregator(frames)
