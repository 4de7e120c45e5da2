"""The Encoder contract: waveform in, frame embeddings out, with its constructor arguments on record."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import torch
from torch import nn

from ssl_mir.configurable import Configurable

Pooling = Literal["mean", "mean_std", "max", "encoder"]


def pool_frames(frames: torch.Tensor, how: Literal["mean", "mean_std", "max"]) -> torch.Tensor:
    """Summarise frames over time: (B, T, D) → (B, D) for "mean" and "max", (B, 2D) for "mean_std" (the mean, then
    the population standard deviation, which is 0 rather than undefined for a single frame)."""
    if how == "mean":
        return frames.mean(dim=1)
    if how == "max":
        return frames.amax(dim=1)
    if how == "mean_std":
        return torch.cat([frames.mean(dim=1), frames.std(dim=1, unbiased=False)], dim=1)
    raise ValueError(f"pooling must be mean, mean_std or max, got {how!r}")


class Encoder(Configurable, nn.Module, ABC):
    """Base class of every encoder.

    Subclasses implement `hidden_states` and set `embed_dim`, `sample_rate` and `frame_rate`. The arguments each
    subclass was built with are recorded automatically (`Configurable`), so `get_config()` can rebuild it (export,
    random baselines) without pickling anything.
    """

    embed_dim: int
    sample_rate: int
    frame_rate: float

    @abstractmethod
    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        """Per-layer frame embeddings, each (B, T_l, D_l); the last one is the output of `forward`."""

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, S) waveform at `sample_rate` → (B, T, D) frame embeddings."""
        return self.hidden_states(wave)[-1]

    def pool(self, frames: torch.Tensor) -> torch.Tensor:
        """Summarise frames over time: (B, T, D) → (B, D'); the mean unless an encoder says otherwise."""
        return frames.mean(dim=1)

    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        """Clip embedding: the output frames pooled over time. (B, S) → (B, D)."""
        return self.pool(self(wave))

    def layer_embeddings(self, wave: torch.Tensor, pooling: Pooling = "encoder") -> list[torch.Tensor]:
        """Every hidden state pooled over time, for layer-wise probes: a list of (B, D_l).

        "mean", "mean_std" and "max" pool every layer alike (`pool_frames`); "encoder" pools the last layer with the
        encoder's own `pool` (a learnt aggregator, or MFCC's mean and std) and the others by their mean."""
        states = self.hidden_states(wave)
        if pooling == "encoder":
            return [h.mean(dim=1) for h in states[:-1]] + [self.pool(states[-1])]
        return [pool_frames(h, pooling) for h in states]
