"""Chroma statistics: the pitch-class profile, the handcrafted baseline for tonal tasks, as a parameter-free encoder.

The constant-Q chromagram of Bartsch & Wakefield (2001) and Müller's "Fundamentals of Music Processing" (2015,
§3.1.2), computed as librosa's `chroma_cqt` does: CQT magnitudes at 36 bins per octave from C1, each pitch class the
sum of the three bins centred on it over every octave, each frame divided by its largest class (L∞). Summarised over
time by mean and standard deviation: 24 numbers per clip, under the same probe as every encoder. MFCCs discard pitch,
so on key, mode or chord tasks this, not MFCC, is the handcrafted feature to beat.
"""

from __future__ import annotations

import torch

from ssl_mir.encoders.base import Encoder, pool_frames
from ssl_mir.frontends import CQT, fold_pitch_classes, full_precision


class ChromaStats(Encoder):
    """Frames are L∞-normalised CQT chroma (B, T, 12); the clip embedding is their mean and std over time (B, 24).

    Args:
        sample_rate: input rate.
        hop_length: samples between frames (librosa's default, 512).
        fmin: centre of the lowest CQT bin, a C (C1).
        n_octaves: octaves folded.
        bins_per_octave: CQT resolution, a multiple of 12 (36: three bins per pitch class, robust to tuning).
        eps: floor of each frame's largest class before the division, so a silent frame stays finite.
    """

    def __init__(self, sample_rate: int = 16000, hop_length: int = 512, fmin: float = 32.70319566257483,
                 n_octaves: int = 7, bins_per_octave: int = 36, eps: float = 1e-6) -> None:
        super().__init__()
        if bins_per_octave % 12:
            raise ValueError(f"bins_per_octave {bins_per_octave} is not a multiple of 12")
        self.sample_rate, self.embed_dim, self.frame_rate = sample_rate, 24, sample_rate / hop_length
        self.per_class, self.eps = bins_per_octave // 12, eps
        self.cqt = CQT(sample_rate, hop_length, fmin, n_octaves, bins_per_octave)

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        with full_precision(wave):
            magnitude = self.cqt.power(wave.float()).sqrt()  # (B, K, T)
            chroma = fold_pitch_classes(magnitude, self.per_class)  # (B, 12, T)
            chroma = chroma / chroma.amax(dim=1, keepdim=True).clamp_min(self.eps)
        return [chroma.transpose(1, 2)]  # (B, T, 12)

    def pool(self, frames: torch.Tensor) -> torch.Tensor:
        return pool_frames(frames, "mean_std")  # (B, T, 12) → (B, 24)
