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
On a CPU, complex-valued elementwise kernels, `torch.stft`/`torch.istft` and boolean masks are several times slower
than real-valued arithmetic, so the spectra are magnitude and phase in real tensors, the framing and overlap-add are
written here, and the nearest-peak search is one int16 `cummax`.
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

def _polar_stft(x: torch.Tensor, n_fft: int, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Magnitude and phase of the centred (reflect-padded), Hann-windowed STFT, as torch.stft computes it but
    framed here (5x faster than torch.stft on a CPU). (N, S) → (N, T, F) twice."""
    window = torch.hann_window(n_fft, device=x.device)
    x, half = x.float(), n_fft // 2
    padded = torch.cat([x[:, 1:half + 1].flip(-1), x, x[:, -half - 1:-1].flip(-1)], dim=1)  # reflect, 4x faster
    parts = torch.view_as_real(torch.fft.rfft(padded.unfold(-1, n_fft, hop) * window))  # (N, T, F, 2)
    real, imag = parts[..., 0].contiguous(), parts[..., 1].contiguous()  # strided atan2 is 15x slower
    return torch.addcmul(real * real, imag, imag).sqrt_(), torch.atan2(imag, real)


def _polar_istft(magnitude: torch.Tensor, phase: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    """torch.istft's least-squares inverse (windowed overlap-add over the summed squared window), centred, for a hop
    that divides n_fft. (N, T, F) twice → (N, length)."""
    window = torch.hann_window(n_fft, device=magnitude.device)
    parts = magnitude.new_empty(*magnitude.shape, 2)  # (N, T, F, 2) real and imaginary parts
    torch.mul(torch.cos(phase), magnitude, out=parts[..., 0])
    torch.mul(torch.sin(phase), magnitude, out=parts[..., 1])
    spec = torch.view_as_complex(parts)
    frames = torch.fft.irfft(spec, n_fft).mul_(window)  # (N, T, n_fft)
    start = n_fft // 2
    return (_overlap_add(frames, hop) / _overlap_add(window.square().expand(1, frames.shape[1], n_fft), hop))[
        :, start:start + length]


def _overlap_add(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """Sum frames placed `hop` apart. (N, T, L) → (N, (T - 1) · hop + L), for a hop that divides L."""
    n, t, size = frames.shape
    parts = frames.reshape(n, t, size // hop, hop).unbind(2)  # each (N, T, hop)
    blocks = frames.new_empty(n, t + len(parts) - 1, hop)
    blocks[:, :t] = parts[0]
    blocks[:, t:] = 0.0
    for j, part in enumerate(parts[1:], start=1):
        blocks[:, j:j + t] += part
    return blocks.view(n, -1)


def _wrap_(angle: torch.Tensor) -> torch.Tensor:
    """The angle wrapped into [-π, π], in place."""
    return angle.sub_(torch.round(angle * (1 / (2 * math.pi))), alpha=2 * math.pi)


def _accumulate(start: torch.Tensor, advance: torch.Tensor) -> torch.Tensor:
    """Phase of every frame from the first frame's, (N, 1, F), and the advances into frames 1 … T - 1,
    (N, T - 1, F), each within a few π: sums of unwrapped advances would reach 10^5 radians, where float32 keeps
    only 0.01 rad. → (N, T, F)."""
    return torch.cat([start.expand(-1, 1, advance.shape[-1]), advance], dim=1).cumsum_(dim=1)


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


def _nearest_peak(magnitude: torch.Tensor) -> torch.Tensor:
    """Bin of the nearest local maximum along F in each frame (ties to the lower one). (N, T, F) → (N, T, F) long.
    The reach is not limited: a click's flat spectrum has few peaks, and its bins must still lock to one to stay
    sharp.

    The nearest peak at or below each bin is a running maximum of (peak bin, or -f) along F; the nearest at or above
    is the same on the mirrored frame. Both run as one `cummax` in int16 where the bins fit: on a CPU, boolean masks
    and `torch.where` are several times slower than arithmetic, and a float32 cummax 3x slower than an int16 one."""
    f = magnitude.shape[-1]
    padded = torch.nn.functional.pad(magnitude, (1, 1))
    rise = torch.minimum(magnitude - padded[..., :-2], magnitude - padded[..., 2:])  # > 0 at strict local maxima
    small = torch.int16 if 5 * f < 2**15 else torch.int32  # holds every sum below
    peak = torch.sign(rise).clamp_(min=0).to(small)  # (N, T, F) 1 at a peak, else 0
    bins = torch.arange(f, device=magnitude.device, dtype=small)
    # Peaks carry their bin, others -f (further than any peak). Mirrored, bin k is f - 1 - k.
    marked = torch.stack([peak * (bins + f) - f, (peak * (bins.flip(0) + f) - f).flip(-1)])  # (2, N, T, F)
    nearest = marked.cummax(dim=-1).values
    below, above = nearest[0], f - 1 - nearest[1].flip(-1)
    use_above = torch.sign(2 * bins - below - above).clamp_(min=0)  # 1 where the peak above is strictly nearer
    return (below + use_above * (above - below)).clamp_(0, f - 1).long()


def _lock_phase(magnitude: torch.Tensor, phase: torch.Tensor, source_phase: torch.Tensor) -> torch.Tensor:
    """Identity phase locking (Laroche & Dolson 1999): every bin takes the phase of the nearest spectral peak of its
    frame plus the phase difference the input had between the two, so that the bins of one partial stay coherent
    instead of drifting apart (the vocoder's "phasiness"). All (N, T, F)."""
    return torch.gather(phase.sub_(source_phase), 2, _nearest_peak(magnitude)).add_(source_phase)


def spectra_bytes(samples: int, n_fft: int = N_FFT, hop: int = PITCH_HOP) -> int:
    """Bytes one row's magnitude and phase spectra take, float32 (N, T, F) each: what a row costs the vocoder."""
    return 2 * 4 * (samples // hop + 1) * (n_fft // 2 + 1)


def pitch_shift(x: torch.Tensor, semitones: torch.Tensor, n_fft: int = N_FFT, hop: int = PITCH_HOP) -> torch.Tensor:
    """Shift each row by its own number of semitones, keeping its duration. (N, S), (N,) → (N, S)."""
    magnitude, angle = _polar_stft(x, n_fft, hop)  # (N, T, F)
    n, t, f = magnitude.shape
    ratio = (2.0 ** (semitones.to(x.device).float() / 12.0)).view(n, 1, 1)
    source = torch.arange(f, device=x.device).view(1, 1, f) / ratio  # (N, 1, F) input bin of each output bin
    magnitude = _interpolate(magnitude, source, dim=2)
    nearest = source.round().clamp_max(f - 1)  # (N, 1, F)
    source_phase = torch.gather(angle, 2, nearest.long().expand(n, t, f))  # the input's phase at each output bin
    # Instantaneous frequency = expected advance of the bin + deviation within ±π, both scaled by the ratio; the
    # scaled expected advance is wrapped, which keeps the accumulated phase small.
    expected = 2 * math.pi * hop / n_fft * nearest  # (N, 1, F)
    deviation = _wrap_(torch.diff(source_phase, dim=1).sub_(expected))  # (N, T - 1, F)
    advance = deviation.mul_(ratio).add_(_wrap_(expected * ratio))
    phase = _lock_phase(magnitude, _accumulate(source_phase[:, :1] * ratio, advance), source_phase)
    return _polar_istft(magnitude, phase, n_fft, hop, x.shape[-1]).to(x.dtype)


def time_stretch(x: torch.Tensor, rate: torch.Tensor, n_fft: int = N_FFT, hop: int = STRETCH_HOP) -> torch.Tensor:
    """Play each row `rate` times faster without changing its pitch, same length out. (N, S), (N,) → (N, S)."""
    magnitude, angle = _polar_stft(x, n_fft, hop)  # (N, T, F)
    n, t, f = magnitude.shape
    rate = rate.to(x.device).float().view(n, 1, 1)
    source = torch.arange(t, device=x.device).view(1, t, 1) * rate  # (N, T, 1) input frame of each output frame
    magnitude = _interpolate(magnitude, source, dim=1)
    frame = source.floor().long()
    # Output frame u + 1 advances from output frame u by the input's advance from frame ⌊u · rate⌋ to the next
    # (librosa's phase_vocoder). Unscaled, that advance is, modulo 2π, the phase difference itself, wrapped.
    step = _wrap_(torch.diff(angle, dim=1))  # (N, T - 1, F) advance from input frame i to i + 1
    advance = torch.gather(step, 1, frame[:, :-1].clamp_max(t - 2).expand(n, t - 1, f))  # into output frames 1 …
    phase = _accumulate(angle[:, :1], advance)
    phase = _lock_phase(magnitude, phase, torch.gather(angle, 1, frame.clamp_max(t - 1).expand(n, t, f)))
    return _polar_istft(magnitude, phase, n_fft, hop, x.shape[-1]).to(x.dtype)
