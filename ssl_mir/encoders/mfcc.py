"""MFCC statistics: the conventional pipeline before deep learning, as a parameter-free encoder.

Choi et al., "A Tutorial on Deep Learning for Music Information Retrieval" (2017), Fig. 2a: MFCCs with their first
and second derivatives, summarised over time by mean and standard deviation, then a linear classifier (here, the
linear probe: multinomial logistic regression on standardised features).
"""

from __future__ import annotations

import torch
import torchaudio

from ssl_mir.encoders.base import Encoder, pool_frames
from ssl_mir.frontends import full_precision


def deltas(x: torch.Tensor) -> torch.Tensor:
    """`torchaudio.functional.compute_deltas` with its default window of 5, (2·x[t+2] + x[t+1] - x[t-1] - 2·x[t-2]) / 10
    with the edges repeated, in slices instead of a grouped convolution whose groups ONNX export cannot trace.
    (B, C, T) → (B, C, T)."""
    p = torch.nn.functional.pad(x, (2, 2), mode="replicate")  # (B, C, T + 4)
    t = x.shape[-1]
    return (2 * (p[..., 4:4 + t] - p[..., :t]) + p[..., 3:3 + t] - p[..., 1:1 + t]) / 10


class MFCCStats(Encoder):
    """Frames are [MFCC, Δ, ΔΔ] (B, T, 3·n_mfcc); the clip embedding is their mean and std over time (B, 6·n_mfcc).

    Args:
        sample_rate: input rate.
        n_mfcc: cepstral coefficients.
        n_mels: mel bands under the DCT.
        n_fft: STFT size.
        hop_length: STFT hop.
    """

    def __init__(self, sample_rate: int = 16000, n_mfcc: int = 20, n_mels: int = 64, n_fft: int = 512,
                 hop_length: int = 256) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.embed_dim = 6 * n_mfcc
        self.frame_rate = sample_rate / hop_length
        self.mfcc = torchaudio.transforms.MFCC(
            sample_rate, n_mfcc=n_mfcc, melkwargs={"n_fft": n_fft, "hop_length": hop_length, "n_mels": n_mels})

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        with full_precision(wave):
            c = self.mfcc(wave.float())  # (B, n_mfcc, T)
            d1 = deltas(c)
            d2 = deltas(d1)
        return [torch.cat([c, d1, d2], dim=1).transpose(1, 2)]  # (B, T, 3·n_mfcc)

    def pool(self, frames: torch.Tensor) -> torch.Tensor:
        return pool_frames(frames, "mean_std")  # (B, T, 3·n_mfcc) → (B, 6·n_mfcc)
