"""Dense layers over context frames (Choi et al. 2017, §4.1: "d2" layers see several frames, "d1" one)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.family import Aggregation, FamilyEncoder
from ssl_mir.frontends import Frontend


class DenseEncoder(FamilyEncoder):
    """front end → each frame with `context` frames either side (d2) → [Linear → ReLU] per hidden size → Linear to
    `embed_dim` (d1): frames (B, T, D).

    Args:
        sample_rate: input rate.
        frontend: time-frequency front end (default: 96-band log-mel).
        context: frames on each side of the centre frame.
        hidden: widths of the context layers (d2-d2-d2).
        embed_dim: width of the last, per-frame layer (d1).
        aggregation: clip pooling (mean, max, strided, recurrent).
        spec_augment: SpecAugment masks of the front end's output while training (Park et al. 2019).
    """

    def __init__(self, sample_rate: int = 16000, frontend: Frontend | None = None, context: int = 2,
                 hidden: list[int] = [512, 512, 512], embed_dim: int = 256,  # noqa: B006 (config default)
                 aggregation: Aggregation = "mean",
                 spec_augment: SpecAugment | None = None) -> None:
        super().__init__()
        self.setup(sample_rate, frontend, 1, embed_dim, aggregation, spec_augment)
        self.context = context
        sizes = [self.bins * (2 * context + 1), *hidden]
        self.layers = nn.ModuleList(nn.Sequential(nn.Linear(a, b), nn.ReLU()) for a, b in zip(sizes, sizes[1:]))
        self.out = nn.Linear(sizes[-1], embed_dim)

    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        spec = spec[:, 0]  # (B, F, T)
        padded = F.pad(spec, (self.context, self.context), mode="replicate")
        x = padded.unfold(2, 2 * self.context + 1, 1).permute(0, 2, 1, 3).flatten(2)  # (B, T, F·(2c+1))
        states = []
        for layer in self.layers:
            x = layer(x)
            states.append(x)
        return [*states, self.out(x)]  # each (B, T, D_l)
