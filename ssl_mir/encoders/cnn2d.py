"""Short-chunk 2D CNN on log-mel.

Won et al., "Evaluation of CNN-based Automatic Music Tagging Models" (SMC 2020), the short-chunk CNN: a VGG-ish
stack of 3×3 conv → BN → ReLU → 2×2 max-pool over a log-mel patch of a few seconds. Frequency is max-pooled away
at the end; time stays, so the encoder gives frames.
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.family import FamilyEncoder
from ssl_mir.frontends import LogMel


class ShortChunkCNN(FamilyEncoder):
    """log-mel → BN → [conv3×3 → BN → ReLU → max-pool 2×2] × len(channels) → max over frequency. A `FamilyEncoder`
    with its log-mel front end built from the arguments below, so that methods that work on the spectrogram (BYOL-A)
    take it like the others.

    Args:
        sample_rate: input rate.
        n_mels: mel bands (96 as in Choi et al. 2016; 128 leaves empty filters at n_fft 512 and 16 kHz).
        n_fft: STFT size.
        hop_length: STFT hop.
        channels: output channels of each conv layer (Won et al.: 128, 128, 256, 256, 256, 256, 512).
        mel_mean: log-mel normalisation mean (a buffer).
        mel_std: log-mel normalisation std (a buffer).
        spec_augment: SpecAugment masks of the normalised log-mel while training (Park et al. 2019).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 96,
        n_fft: int = 512,
        hop_length: int = 256,
        channels: list[int] = [128, 128, 256, 256, 256, 256, 512],  # noqa: B006 (config default)
        mel_mean: float = 0.0,
        mel_std: float = 1.0,
        spec_augment: SpecAugment | None = None,
    ) -> None:
        super().__init__()
        self.setup(sample_rate, LogMel(sample_rate, n_fft, hop_length, n_mels, mean=mel_mean, std=mel_std),
                   2 ** len(channels), channels[-1], "mean", spec_augment)
        self.input_bn = nn.BatchNorm2d(1)
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            )
            for c_in, c_out in zip([1, *channels[:-1]], channels)
        )

    def states_from_spectrogram(self, spec: torch.Tensor) -> list[torch.Tensor]:
        x = self.input_bn(spec)  # (B, 1, F, T)
        states = []
        for layer in self.layers:
            x = layer(x)  # (B, C_l, F_l, T_l)
            states.append(x.amax(dim=2).transpose(1, 2))  # (B, T_l, C_l)
        return states
