"""Front ends: waveform → time-frequency input, as nn.Modules that travel inside the encoder.

Choi et al., "A Tutorial on Deep Learning for Music Information Retrieval" (2017), Sec. 3.2: the representation is
part of the model. Normalisation statistics are buffers, so an exported encoder carries them.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn


class Waveform(nn.Module):
    """Raw audio, standardised with stored statistics. (B, S) → (B, 1, S)."""

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return ((wave - self.mean) / self.std).unsqueeze(1)  # (B, 1, S)


class LogMel(nn.Module):
    """Log-compressed mel spectrogram, log(X + eps), standardised with stored statistics. (B, S) → (B, 1, F, T).

    Computed in float32 even under autocast: bf16 loses the small magnitudes that the log then amplifies.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 512,
        hop_length: int = 256,
        n_mels: int = 96,
        f_min: float = 0.0,
        f_max: float | None = None,
        mel_scale: str = "htk",
        eps: float = 1e-5,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__()
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.eps = eps
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, f_min=f_min, f_max=f_max,
            mel_scale=mel_scale, power=2.0, center=True,
        )
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=wave.device.type, enabled=False):
            spec = self.mel(wave.float())  # (B, F, T)
            spec = torch.log(spec + self.eps)
        return ((spec - self.mean) / self.std).unsqueeze(1)  # (B, 1, F, T)
