"""The Encoder contract: waveform in, frame embeddings out, with its constructor arguments on record."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from ssl_mir.configurable import Configurable


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

    def layer_embeddings(self, wave: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden state pooled over time, for layer-wise probes: a list of (B, D_l); the last is `embed`
        (the encoder's own pooling), the others are time averages."""
        states = self.hidden_states(wave)
        return [h.mean(dim=1) for h in states[:-1]] + [self.pool(states[-1])]
