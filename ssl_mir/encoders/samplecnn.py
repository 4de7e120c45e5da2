"""SampleCNN on the raw waveform.

Lee et al., "Sample-level Deep Convolutional Neural Networks for Music Auto-tagging Using Raw Waveforms" (SMC 2017),
in the 3^9 configuration used by CLMR (Spijkervet & Burgoyne 2021): 59049 samples → one 512-d frame.
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.encoders.base import Encoder
from ssl_mir.frontends import Waveform


class SampleCNN(Encoder):
    """A strided stem (kernel 3, stride 3) then blocks of conv(3) → BN → ReLU → max-pool(3).

    Each block divides the time axis by 3, so with 9 blocks an input of 3^10 = 59049 samples gives one frame and
    longer inputs give floor(S / 59049) frames.

    Args:
        sample_rate: input rate (CLMR: 22050).
        channels: output channels of the stem followed by one entry per block.
        wave_mean: waveform normalisation mean (a buffer).
        wave_std: waveform normalisation std (a buffer).
    """

    def __init__(
        self,
        sample_rate: int = 22050,
        channels: list[int] = [128, 128, 128, 256, 256, 256, 256, 256, 256, 512],  # noqa: B006 (config default)
        wave_mean: float = 0.0,
        wave_std: float = 1.0,
    ) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError("SampleCNN needs the stem's channels and at least one block")
        self.sample_rate = sample_rate
        self.embed_dim = channels[-1]
        self.receptive_samples = 3 ** len(channels)
        self.frame_rate = sample_rate / self.receptive_samples
        self.frontend = Waveform(wave_mean, wave_std)
        self.stem = nn.Sequential(
            nn.Conv1d(1, channels[0], kernel_size=3, stride=3), nn.BatchNorm1d(channels[0]), nn.ReLU()
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(c_in, c_out, kernel_size=3, padding=1),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
                nn.MaxPool1d(3),
            )
            for c_in, c_out in zip(channels[:-1], channels[1:])
        )

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        if wave.shape[-1] < self.receptive_samples:
            raise ValueError(f"SampleCNN needs at least {self.receptive_samples} samples, got {wave.shape[-1]}")
        x = self.stem(self.frontend(wave))  # (B, C, S/3)
        states = []
        for block in self.blocks:
            x = block(x)  # (B, C_l, T_l)
            states.append(x.transpose(1, 2))  # (B, T_l, C_l)
        return states
