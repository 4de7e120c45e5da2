"""Batched waveform operations: each maps (N, S) waveforms and one parameter per row to (N, S), with torch ops that
run unchanged on CPU and CUDA. The parameters are drawn elsewhere (`augment.vocabulary`); nothing here is random
except the noise that `add_noise` and `reverb` generate on the waveforms' device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from scipy.fft import next_fast_len

# Zero padding before FFT filtering, in seconds: the zero-phase responses used here decay well within it, so the
# end of a clip does not wrap around onto its start.
FILTER_PAD_S = 0.05


def _column(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(device=like.device, dtype=like.dtype).unsqueeze(-1)  # (N, 1)


def add_noise(x: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """Add white Gaussian noise whose RMS is the row's RMS lowered by the row's SNR in dB (audiomentations'
    AddGaussianSNR). A silent row stays silent. (N, S), (N,) → (N, S)."""
    rms = x.float().pow(2).mean(dim=-1, keepdim=True).sqrt()  # (N, 1)
    std = rms / _column(10.0 ** (snr_db / 20.0), rms)
    return x + (torch.randn_like(x, dtype=torch.float32) * std).to(x.dtype)


def butterworth_response(freqs: torch.Tensor, kind: str, cutoff: torch.Tensor, order: torch.Tensor,
                         bandwidth: torch.Tensor | None = None) -> torch.Tensor:
    """Magnitude of the analogue Butterworth response of each row at `freqs` (Hz): low-pass 1/√(1 + (f/fc)^2n),
    high-pass 1/√(1 + (fc/f)^2n), band-pass 1/√(1 + ((f² - fc²)/(f·B))^2n) around fc = the band's geometric centre.

    Args:
        freqs: (F,) frequencies.
        kind: "lowpass", "highpass" or "bandpass".
        cutoff: (N,) cut-off, or for a band-pass the centre, in Hz.
        order: (N,) filter order n (the roll-off is 6n dB per octave).
        bandwidth: (N,) band width in Hz, for a band-pass.

    Returns:
        (N, F) gains in [0, 1].
    """
    log_f = freqs.clamp_min(1e-3).log().unsqueeze(0)  # (1, F)
    log_fc, n = cutoff.log().unsqueeze(-1), order.unsqueeze(-1)  # (N, 1)
    if kind == "lowpass":
        log_ratio = log_f - log_fc
    elif kind == "highpass":
        log_ratio = log_fc - log_f
    elif kind == "bandpass":
        if bandwidth is None:
            raise ValueError("a band-pass response needs a bandwidth")
        f = freqs.clamp_min(1e-3).unsqueeze(0)
        distance = (f**2 - cutoff.unsqueeze(-1) ** 2).abs().clamp_min(1e-12)  # (N, F) |f² - fc²|
        log_ratio = distance.log_().sub_(log_f).sub_(bandwidth.log().unsqueeze(-1))
    else:
        raise ValueError(f"unknown filter kind '{kind}' (lowpass, highpass, bandpass)")
    # ratio^2n through log and exp: one transcendental pass instead of pow's two; exp overflows to inf, gain 0
    return log_ratio.mul_(2 * n).exp_().add_(1.0).rsqrt_()  # (N, F)


def fft_filter(x: torch.Tensor, sample_rate: int, response: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Multiply each row's spectrum by `response(freqs) → (N, F)` (zero phase), after zero padding. (N, S) → (N, S)."""
    s = x.shape[-1]
    n = next_fast_len(s + int(FILTER_PAD_S * sample_rate), real=True)  # a length with small prime factors
    spectrum = torch.fft.rfft(x.float(), n=n)  # (N, F)
    freqs = torch.fft.rfftfreq(n, 1.0 / sample_rate, device=x.device)  # (F,)
    return torch.fft.irfft(spectrum.mul_(response(freqs)), n=n)[..., :s].to(x.dtype)


def equalizer_response(freqs: torch.Tensor, centers: torch.Tensor, gains_db: torch.Tensor) -> torch.Tensor:
    """Magnitude of each row's equaliser at `freqs` (Hz): its band gains in dB joined by straight lines over
    log-frequency through the band centres, held flat below the first and above the last. (F,), (N, K), (N, K) →
    (N, F)."""
    log_c, order = centers.log().sort(dim=-1)  # (N, K)
    gains = gains_db.gather(-1, order)  # (N, K)
    log_f = freqs.clamp_min(1.0).log().expand(len(log_c), -1).contiguous()  # (N, F)
    right = torch.searchsorted(log_c, log_f).clamp(1, log_c.shape[-1] - 1)  # (N, F)
    c0, c1 = log_c.gather(-1, right - 1), log_c.gather(-1, right)
    g0, g1 = gains.gather(-1, right - 1), gains.gather(-1, right)
    weight = ((log_f - c0) / (c1 - c0).clamp_min(1e-6)).clamp(0.0, 1.0)
    return torch.pow(10.0, (g0 + weight * (g1 - g0)) / 20.0)  # (N, F)


def delay(x: torch.Tensor, shift: torch.Tensor, volume: float) -> torch.Tensor:
    """Add one echo `shift` samples later at `volume`, normalised: (x + v · x(t - d)) / (1 + v). (N, S) → (N, S).
    One gather for all rows whatever their shifts, so no shift is read back to the host (a sync on an accelerator)."""
    source = torch.arange(x.shape[-1], device=x.device) - shift.to(x.device).long().unsqueeze(-1)  # (N, S)
    before = source < 0  # the echo has not started yet
    echo = torch.gather(x, -1, source.clamp_(min=0)).masked_fill_(before, 0.0)  # (N, S) x(t - d), 0 for t < d
    return torch.add(x / (1.0 + volume), echo, alpha=volume / (1.0 + volume))


def reverb(x: torch.Tensor, sample_rate: int, rt60: torch.Tensor, wet: torch.Tensor, max_rt60: float) -> torch.Tensor:
    """Convolve each row with its own generated room response: Gaussian noise decaying by 60 dB over the row's
    RT60 s, unit energy; mix (1 - w) · dry + w · wet. The responses are `max_rt60` s long (zero after each row's
    RT60): a length known on the host, not read from the rows' draws. (N, S) → (N, S)."""
    s = x.shape[-1]
    rt60 = rt60.to(x.device, torch.float32).unsqueeze(-1)  # (N, 1)
    length = max(1, int(max_rt60 * sample_rate))
    t = torch.arange(length, device=x.device) / sample_rate  # (L,)
    decay = torch.exp_(t * (-3.0 * math.log(10.0) / rt60)).mul_(t < rt60)  # (N, L) -60 dB at RT60, then 0
    ir = torch.randn(len(x), length, device=x.device).mul_(decay)
    ir /= torch.linalg.vector_norm(ir, dim=-1, keepdim=True).clamp_min(1e-12)
    n = next_fast_len(s + length, real=True)
    wet_signal = torch.fft.irfft(torch.fft.rfft(x.float(), n=n).mul_(torch.fft.rfft(ir, n=n)), n=n)[..., :s]
    return torch.lerp(x, wet_signal.to(x.dtype), _column(wet, x))


def crop(x: torch.Tensor, start: torch.Tensor, samples: int) -> torch.Tensor:
    """Cut `samples` samples from each row at its own start. (N, S) → (N, samples)."""
    index = start.to(x.device).long().unsqueeze(-1) + torch.arange(samples, device=x.device)  # (N, samples)
    return torch.gather(x, -1, index)
