"""The Encoder contract: waveform in, frame embeddings out, with its constructor arguments on record."""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn


class Encoder(nn.Module, ABC):
    """Base class of every encoder.

    Subclasses implement `hidden_states` and set `embed_dim`, `sample_rate` and `frame_rate`. The arguments each
    subclass was built with are recorded automatically, so `get_config()` can rebuild it (export, random baselines)
    without pickling anything.
    """

    embed_dim: int
    sample_rate: int
    frame_rate: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: Encoder, *args: Any, **kw: Any) -> None:
            if "_init_args" not in self.__dict__:  # the outermost subclass records its arguments
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                object.__setattr__(self, "_init_args", {k: v for k, v in bound.arguments.items() if k != "self"})
            init(self, *args, **kw)

        cls.__init__ = recording_init  # type: ignore[method-assign]

    def get_config(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this encoder."""
        return dict(self.__dict__.get("_init_args", {}))

    @property
    def class_path(self) -> str:
        return f"{type(self).__module__}.{type(self).__qualname__}"

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
        """Every hidden state pooled over time, for layer-wise probes: a list of (B, D_l); the last is `embed`."""
        return [self.pool(h) for h in self.hidden_states(wave)]
