"""VGG-style 2D convolutions over any time-frequency front end (Choi et al. 2017, §4.2: c2-c2-p1-…; Simonyan &
Zisserman 2015)."""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.family import Aggregation, FamilyEncoder
from ssl_mir.frontends import Frontend


class VGGEncoder(FamilyEncoder):
    """front end → BN → per block: [Conv2d 3×3 → BN → ReLU] × convs_per_block → MaxPool 2×2 → frequency collapsed by
    max: frames (B, T / 2^blocks, channels[-1]).

    Args:
        sample_rate: input rate.
        frontend: time-frequency front end (default: 96-band log-mel).
        channels: output channels per block.
        convs_per_block: 3×3 convolutions before each pooling (c2-c2-p1: 2).
        aggregation: clip pooling (mean, max, strided, recurrent).
        spec_augment: SpecAugment masks of the front end's output while training (Park et al. 2019).
    """

    def __init__(self, sample_rate: int = 16000, frontend: Frontend | None = None,
                 channels: list[int] = [64, 128, 256, 512], convs_per_block: int = 2,  # noqa: B006 (config default)
                 aggregation: Aggregation = "mean",
                 spec_augment: SpecAugment | None = None) -> None:
        super().__init__()
        self.setup(sample_rate, frontend, 2 ** len(channels), channels[-1], aggregation, spec_augment)
        self.input_bn = nn.BatchNorm2d(1)
        blocks = []
        for c_in, c_out in zip([1, *channels[:-1]], channels):
            convs: list[nn.Module] = []
            for i in range(convs_per_block):
                convs += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
            blocks.append(nn.Sequential(*convs, nn.MaxPool2d(2, ceil_mode=True)))
        self.blocks = nn.ModuleList(blocks)

    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        x = self.input_bn(spec)  # (B, 1, F, T)
        states = []
        for block in self.blocks:
            x = block(x)  # (B, C_l, F_l, T_l)
            states.append(x.amax(dim=2).transpose(1, 2))  # (B, T_l, C_l)
        return states
