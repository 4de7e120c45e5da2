"""The spectral transforms of the vocabulary (`augment.vocabulary`): Butterworth low-, high- and band-pass filters and
a seven-band equaliser. Each draws its parameters as audiomentations does, applies the magnitude response with zero
phase in the frequency domain on the batched backend, and is audiomentations' own transform on the CPU backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from audiomentations import BandPassFilter, HighPassFilter, LowPassFilter, SevenBandParametricEQ
from audiomentations.core.transforms_interface import BaseWaveformTransform

from ssl_mir.augment import ops
from ssl_mir.augment.transform import Params, Transform, mel_uniform, orders, uniform


@dataclass(frozen=True)
class Filter(Transform):
    """Butterworth filter: cut-off uniform on the mel scale, roll-off a random multiple of 6 dB/octave (order n =
    roll-off / 6). The batched backend applies the filter's magnitude with zero phase in the frequency domain;
    audiomentations filters causally (same magnitude, with phase)."""

    min_cutoff_freq: float = 150.0
    max_cutoff_freq: float = 7500.0
    min_rolloff: int = 12
    max_rolloff: int = 24
    kind: ClassVar[str] = "lowpass"

    def draw(self, n: int) -> Params:
        return {"cutoff": mel_uniform(n, self.min_cutoff_freq, self.max_cutoff_freq),
                "order": orders(n, self.min_rolloff, self.max_rolloff)}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        cutoff = params["cutoff"].clamp_max(0.4999 * sample_rate).to(x.device, torch.float32)
        order = params["order"].to(x.device, torch.float32)
        return ops.fft_filter(x, sample_rate, lambda f: ops.butterworth_response(f, self.kind, cutoff, order))

    def cpu(self) -> BaseWaveformTransform:
        cls = LowPassFilter if self.kind == "lowpass" else HighPassFilter
        return cls(self.min_cutoff_freq, self.max_cutoff_freq, self.min_rolloff, self.max_rolloff, p=self.p)


@dataclass(frozen=True)
class LowPass(Filter):
    name: ClassVar[str] = "lowpass"


@dataclass(frozen=True)
class HighPass(Filter):
    min_cutoff_freq: float = 20.0
    max_cutoff_freq: float = 2400.0
    name: ClassVar[str] = "highpass"
    kind: ClassVar[str] = "highpass"


@dataclass(frozen=True)
class BandPass(Transform):
    """Butterworth band-pass: centre uniform on the mel scale, width a uniform fraction of the centre, band
    [centre - width / 2, centre + width / 2], roll-off as for `Filter`."""

    min_center_freq: float = 200.0
    max_center_freq: float = 4000.0
    min_bandwidth_fraction: float = 0.5
    max_bandwidth_fraction: float = 1.99
    min_rolloff: int = 12
    max_rolloff: int = 24
    name: ClassVar[str] = "bandpass"

    def draw(self, n: int) -> Params:
        center = mel_uniform(n, self.min_center_freq, self.max_center_freq)
        width = center * uniform(n, self.min_bandwidth_fraction, self.max_bandwidth_fraction)
        return {"center": center, "bandwidth": width, "order": orders(n, self.min_rolloff, self.max_rolloff)}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        center, width = params["center"], params["bandwidth"]
        low, high = center - width / 2, (center + width / 2).clamp_max(0.4999 * sample_rate)
        geometric = (low * high).sqrt().to(x.device, torch.float32)
        band, order = (high - low).to(x.device, torch.float32), params["order"].to(x.device, torch.float32)
        return ops.fft_filter(x, sample_rate, lambda f: ops.butterworth_response(f, "bandpass", geometric, order, band))

    def cpu(self) -> BaseWaveformTransform:
        return BandPassFilter(self.min_center_freq, self.max_center_freq, self.min_bandwidth_fraction,
                              self.max_bandwidth_fraction, self.min_rolloff, self.max_rolloff, p=self.p)


@dataclass(frozen=True)
class Equalizer(Transform):
    """A seven-band equaliser that changes the spectral envelope (timbre) but not the notes: each band's gain
    uniform in dB, its centre uniform on the mel scale in audiomentations' ranges (`SevenBandParametricEQ`, 42 Hz
    to 9.5 kHz).
    The batched backend joins the seven gains by straight lines over log-frequency and applies that magnitude with
    zero phase; audiomentations applies shelf and peaking biquads with random Q (same gains and centres)."""

    min_gain_db: float = -12.0
    max_gain_db: float = 12.0
    name: ClassVar[str] = "eq"
    BANDS: ClassVar[tuple[tuple[float, float], ...]] = ((42.0, 95.0), (91.0, 204.0), (196.0, 441.0), (421.0, 948.0),
                                                        (909.0, 2045.0), (1957.0, 4404.0), (4216.0, 9486.0))

    def draw(self, n: int) -> Params:
        return {"centers": torch.stack([mel_uniform(n, low, high) for low, high in self.BANDS], dim=-1),  # (n, 7)
                "gains_db": torch.stack([uniform(n, self.min_gain_db, self.max_gain_db) for _ in self.BANDS], -1)}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        centers, gains = (params[k].to(x.device, torch.float32) for k in ("centers", "gains_db"))
        return ops.fft_filter(x, sample_rate, lambda f: ops.equalizer_response(f, centers, gains))

    def cpu(self) -> BaseWaveformTransform:
        return SevenBandParametricEQ(self.min_gain_db, self.max_gain_db, p=self.p)
