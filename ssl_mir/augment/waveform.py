"""CLMR's augmentation chain built with audiomentations, run per clip in dataloader workers.

Spijkervet & Burgoyne, "Contrastive Learning of Musical Representations", ISMIR 2021, Sec. 3.1: after a random
crop, polarity inversion, noise, gain, high/low-pass filter, delay, pitch shift and reverb, each applied with its
own probability. The defaults are CLMR's probabilities. audiomentations has no delay or algorithmic reverb, so
those two are written here as audiomentations transforms.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from audiomentations import (
    AddGaussianSNR,
    Compose,
    Gain,
    HighPassFilter,
    LowPassFilter,
    OneOf,
    PitchShift,
    PolarityInversion,
)
from audiomentations.core.transforms_interface import BaseWaveformTransform
from scipy.signal import fftconvolve


class Delay(BaseWaveformTransform):
    """Add one echo: x + volume · x delayed by a time drawn on a grid (CLMR: 200–500 ms in 50 ms steps, volume 0.5)."""

    def __init__(self, min_ms: int = 200, max_ms: int = 500, step_ms: int = 50, volume: float = 0.5, p: float = 0.5):
        super().__init__(p)
        self.delays_ms = list(range(min_ms, max_ms + 1, step_ms))
        self.volume = volume

    def randomize_parameters(self, samples: np.ndarray, sample_rate: int) -> None:
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["delay_ms"] = random.choice(self.delays_ms)

    def apply(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        shift = min(int(self.parameters["delay_ms"] * sample_rate / 1000), samples.shape[-1])
        delayed = np.zeros_like(samples)
        delayed[..., shift:] = samples[..., : samples.shape[-1] - shift]
        return ((samples + self.volume * delayed) / (1.0 + self.volume)).astype(np.float32)


class Reverb(BaseWaveformTransform):
    """Convolve with a generated room response: exponentially decaying noise with a drawn RT60 and wet/dry mix."""

    def __init__(self, min_rt60: float = 0.1, max_rt60: float = 1.0, min_wet: float = 0.1, max_wet: float = 0.6,
                 p: float = 0.5):
        super().__init__(p)
        self.rt60 = (min_rt60, max_rt60)
        self.wet = (min_wet, max_wet)

    def randomize_parameters(self, samples: np.ndarray, sample_rate: int) -> None:
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters["rt60"] = random.uniform(*self.rt60)
            self.parameters["wet"] = random.uniform(*self.wet)
            self.parameters["ir_seed"] = random.getrandbits(32)

    def apply(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        rt60 = self.parameters["rt60"]
        t = np.arange(int(rt60 * sample_rate)) / sample_rate
        noise = np.random.default_rng(self.parameters["ir_seed"]).standard_normal(t.size)
        ir = noise * 10.0 ** (-3.0 * t / rt60)  # -60 dB at t = rt60
        ir /= np.sqrt(np.sum(ir**2)) + 1e-12
        wet = fftconvolve(samples, ir, mode="full")[..., : samples.shape[-1]]
        w = self.parameters["wet"]
        return ((1.0 - w) * samples + w * wet).astype(np.float32)


class ClmrAugment:
    """The CLMR chain: `apply` maps a (S,) waveform to a (S,) waveform (the data module's WaveTransform). Probabilities default to CLMR's.

    Args:
        polarity: p of polarity inversion.
        noise: p of white noise at 20–40 dB SNR.
        gain: p of a gain between -20 and -1 dB.
        filters: p of a high-pass (200–1200 Hz) or low-pass (2200–4000 Hz) filter.
        delay: p of an echo.
        pitch: p of a pitch shift within ±`max_semitones`.
        reverb: p of reverberation.
        max_semitones: pitch-shift range (CLMR: 7 semitones, i.e. ±700 cents).
    """

    def __init__(
        self,
        polarity: float = 0.8,
        noise: float = 0.01,
        gain: float = 0.3,
        filters: float = 0.8,
        delay: float = 0.3,
        pitch: float = 0.6,
        reverb: float = 0.6,
        max_semitones: float = 7.0,
    ) -> None:
        self.chain = Compose(
            [
                PolarityInversion(p=polarity),
                AddGaussianSNR(min_snr_db=20.0, max_snr_db=40.0, p=noise),
                Gain(min_gain_db=-20.0, max_gain_db=-1.0, p=gain),
                OneOf([HighPassFilter(200.0, 1200.0, p=1.0), LowPassFilter(2200.0, 4000.0, p=1.0)], p=filters),
                Delay(p=delay),
                PitchShift(-max_semitones, max_semitones, p=pitch),
                Reverb(p=reverb),
            ]
        )

    def apply(self, wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
        out = self.chain(wave.numpy(), sample_rate=sample_rate)  # (S,)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))
