"""Batched phase-vocoder pitch shift and time stretch with a different amount for every row, same length out.

Both read the short-time Fourier transform at moved positions and rebuild the phase from instantaneous frequencies
(Flanagan & Golden 1966; Laroche & Dolson, "New phase-vocoder techniques for pitch-shifting, harmonizing and other
exotic effects", WASPAA 1999):

- pitch shift moves every bin to `ratio` times its frequency (output bin k reads input bin k / ratio) and scales
  its instantaneous frequency by the same ratio, so duration is unchanged;
- time stretch reads input frame t · rate for output frame t and advances the phase by the input's instantaneous
  frequency, so the pitch is unchanged; the output keeps the input's length (audiomentations'
  `leave_length_unchanged=True`): a slowed-down row is cut, a sped-up row ends in silence.

One STFT and one inverse STFT serve the whole batch whatever the amounts, which is what makes them cheap on a GPU.
"""

from __future__ import annotations

import math

import torch

N_FFT = 1024
# Hops: with identity phase locking only spectral peaks need their instantaneous frequency unambiguous (within half
# a bin of the bin centre), which half-overlapping frames already give; so the pitch shift, which keeps the timing,
# uses n_fft / 2 (2.4x cheaper). The time stretch moves frames apart and keeps n_fft / 4, which keeps clicks sharp.
PITCH_HOP = N_FFT // 2
STRETCH_HOP = N_FFT // 4


def _stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    spec = torch.stft(x.float(), n_fft, hop, window=window, center=True, return_complex=True)  # (N, F, T)
    return spec.transpose(1, 2)  # (N, T, F)


def _istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=spec.device)
    return torch.istft(spec.transpose(1, 2), n_fft, hop, window=window, center=True, length=length)  # (N, S)


def _phase_advance(phase: torch.Tensor, hop: int, n_fft: int) -> torch.Tensor:
    """Instantaneous frequency of every frame and bin as phase advance per hop (radians). (N, T, F) → (N, T, F)."""
    expected = 2 * math.pi * hop * torch.arange(phase.shape[-1], device=phase.device) / n_fft  # (F,)
    diff = torch.diff(phase, dim=1, prepend=phase[:, :1]) - expected
    return expected + torch.remainder(diff + math.pi, 2 * math.pi) - math.pi


def _interpolate(values: torch.Tensor, position: torch.Tensor, dim: int) -> torch.Tensor:
    """Linear interpolation of `values` at fractional `position` along `dim`, zero outside [0, size - 1];
    `position` may have size 1 in the other dimensions (it is broadcast, not copied)."""
    size = values.shape[dim]
    low = position.floor()
    frac = position - low
    valid = (position >= 0) & (position <= size - 1)
    low = low.long().clamp(0, size - 1)
    lo = torch.gather(values, dim, low.expand_as(values))
    hi = torch.gather(values, dim, (low + 1).clamp_max(size - 1).expand_as(values))
    return torch.lerp(lo, hi, frac.to(values.dtype)) * valid


def _lock_phase(magnitude: torch.Tensor, phase: torch.Tensor, source_phase: torch.Tensor) -> torch.Tensor:
    """Identity phase locking (Laroche & Dolson 1999): every bin takes the phase of the nearest spectral peak of its
    frame plus the phase difference the input had between the two, so that the bins of one partial stay coherent
    instead of drifting apart (the vocoder's "phasiness"). All (N, T, F); peaks are local maxima along F."""
    n, t, f = magnitude.shape
    padded = torch.nn.functional.pad(magnitude, (1, 1))
    peak = (magnitude >= padded[..., :-2]) & (magnitude > padded[..., 2:])  # (N, T, F) local maxima along F
    bins = torch.arange(f, device=magnitude.device, dtype=torch.int32)
    below = torch.where(peak, bins, -f).cummax(dim=2).values  # nearest peak at or below each bin
    above = f - 1 - torch.where(peak.flip(2), bins, -f).cummax(dim=2).values.flip(2)  # nearest at or above
    nearest = torch.where(bins - below <= above - bins, below, above).clamp(0, f - 1).long()
    return torch.gather(phase, 2, nearest) + source_phase - torch.gather(source_phase, 2, nearest)


def pitch_shift(x: torch.Tensor, semitones: torch.Tensor, n_fft: int = N_FFT, hop: int = PITCH_HOP) -> torch.Tensor:
    """Shift each row by its own number of semitones, keeping its duration. (N, S), (N,) → (N, S)."""
    spec = _stft(x, n_fft, hop)  # (N, T, F)
    n, t, f = spec.shape
    ratio = (2.0 ** (semitones.to(x.device).float() / 12.0)).view(n, 1, 1)
    source = torch.arange(f, device=x.device).view(1, 1, f) / ratio  # (N, 1, F) input bin of each output bin
    magnitude = _interpolate(spec.abs(), source, dim=2)
    nearest = source.round().long().clamp_max(f - 1).expand(n, t, f)
    angle = spec.angle()
    advance = torch.gather(_phase_advance(angle, hop, n_fft), 2, nearest) * ratio
    source_phase = torch.gather(angle, 2, nearest)
    phase = source_phase[:, :1] * ratio + torch.cumsum(advance, dim=1) - advance[:, :1]
    phase = _lock_phase(magnitude, phase, source_phase)
    return _istft(torch.polar(magnitude, phase), n_fft, hop, x.shape[-1]).to(x.dtype)


def time_stretch(x: torch.Tensor, rate: torch.Tensor, n_fft: int = N_FFT, hop: int = STRETCH_HOP) -> torch.Tensor:
    """Play each row `rate` times faster without changing its pitch, same length out. (N, S), (N,) → (N, S)."""
    spec = _stft(x, n_fft, hop)  # (N, T, F)
    n, t, f = spec.shape
    rate = rate.to(x.device).float().view(n, 1, 1)
    source = torch.arange(t, device=x.device).view(1, t, 1) * rate  # (N, T, 1) input frame of each output frame
    magnitude = _interpolate(spec.abs(), source, dim=1)
    frame = source.floor().long()
    angle = spec.angle()
    advance = torch.gather(_phase_advance(angle, hop, n_fft), 1, (frame + 1).clamp_max(t - 1).expand(n, t, f))
    phase = angle[:, :1] + torch.cumsum(advance, dim=1) - advance[:, :1]
    phase = _lock_phase(magnitude, phase, torch.gather(angle, 1, frame.clamp_max(t - 1).expand(n, t, f)))
    return _istft(torch.polar(magnitude, phase), n_fft, hop, x.shape[-1]).to(x.dtype)
