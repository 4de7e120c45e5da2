"""Front ends: waveform → time-frequency input, as nn.Modules that travel inside the encoder.

Choi et al., "A Tutorial on Deep Learning for Music Information Retrieval" (2017), Sec. 3.2: the representation is
part of the model. Normalisation statistics are buffers, so an exported encoder carries them.
"""

from __future__ import annotations

import contextlib
from typing import ContextManager, Literal, Optional

import torch
import torchaudio
from torch import nn
from torchaudio.functional.functional import _get_sinc_resample_kernel

from ssl_mir.configurable import Configurable


def full_precision(x: torch.Tensor) -> ContextManager:
    """Autocast turned off for `x`'s device, so that what follows runs in the dtypes it is given. Devices without
    autocast ("meta", which the tests use to find values read back to the host) have nothing to turn off."""
    if not torch.amp.is_autocast_available(x.device.type):
        return contextlib.nullcontext()
    return torch.autocast(device_type=x.device.type, enabled=False)


class Frontend(Configurable, nn.Module):
    """A representation standardised with stored statistics: `mean` and `std` are buffers, so an exported encoder
    carries them. `hop_length` is the samples between output frames."""

    hop_length: int = 1

    def __init__(self, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) → (B, 1, ...) standardised, with a channel axis."""
        return ((x - self.mean) / self.std).unsqueeze(1)


class Waveform(Frontend):
    """Raw audio, standardised with stored statistics. (B, S) → (B, 1, S)."""

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.standardise(wave)  # (B, 1, S)


class LogMel(Frontend):
    """Log-compressed mel spectrogram, log(X + eps), standardised with stored statistics. (B, S) → (B, 1, F, T).

    The mel scale is HTK's (O'Shaughnessy 1987) or Slaney's (Auditory Toolbox, librosa's default, with `mel_norm:
    slaney` for its area-normalised filters).

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
        mel_scale: Literal["htk", "slaney"] = "htk",
        mel_norm: Optional[Literal["slaney"]] = None,
        eps: float = 1e-5,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__(mean, std)
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.eps = eps
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, f_min=f_min, f_max=f_max,
            mel_scale=mel_scale, norm=mel_norm, power=2.0, center=True,
        )

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with full_precision(wave):
            spec = self.mel(wave.float())  # (B, F, T)
            spec = torch.log(spec + self.eps)
        return self.standardise(spec)  # (B, 1, F, T)


class HalfRate(nn.Module):
    """torchaudio's sinc resampler from rate 2 to rate 1 (Hann-windowed sinc, 6 zero crossings, roll-off 0.99) with
    its kernel made once: a strided convolution and a length of ceil(S / 2) that ONNX export can trace, where
    `torchaudio.functional.resample` computes the length as a tensor. (B, S) → (B, ceil(S / 2))."""

    def __init__(self) -> None:
        super().__init__()
        kernel, self.width = _get_sinc_resample_kernel(2, 1, 1)  # (1, 1, K)
        self.register_buffer("kernel", kernel.float(), persistent=False)

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        padded = nn.functional.pad(signal, (self.width, self.width + 2))[:, None]  # (B, 1, S + 2w + 2)
        return nn.functional.conv1d(padded, self.kernel, stride=2)[:, 0, : (signal.shape[-1] + 1) // 2]


class CQT(Frontend):
    """Constant-Q transform (Brown, JASA 1991), log-compressed: (B, S) → (B, 1, K, T), K = n_octaves · bins_per_octave.

    Multirate, as Schörkhuber & Klapuri (SMC 2010): each octave is computed from the signal decimated (by halving
    steps) to the lowest rate whose Nyquist frequency is still twice the octave's top bin, with one small FFT per
    frame and a matrix of spectral kernels (Brown & Puckette, JASA 1992) — matmuls that run on CPU or GPU. Bin k is
    centred on fmin · 2^(k / B); its kernel is a Hann-windowed complex exponential of Q cycles
    (Q = 1 / (2^(1/B) - 1)), normalised by its length. Frames are centred on multiples of `hop_length`, as in LogMel,
    so both give the same number of frames. Float32 even under autocast.

    Args:
        sample_rate: input rate.
        hop_length: samples between frames; each octave's decimation divides it.
        fmin: centre of the lowest bin (C1).
        n_octaves: octaves above fmin.
        bins_per_octave: B.
        eps: log(power + eps).
        mean: normalisation mean (a buffer).
        std: normalisation std (a buffer).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        hop_length: int = 256,
        fmin: float = 32.70319566257483,
        n_octaves: int = 7,
        bins_per_octave: int = 12,
        eps: float = 1e-8,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__(mean, std)
        top = fmin * 2.0 ** ((n_octaves * bins_per_octave - 1) / bins_per_octave)
        if top >= sample_rate / 2:
            raise ValueError(f"the top CQT bin ({top:.0f} Hz) is above Nyquist ({sample_rate / 2:.0f} Hz)")
        self.hop_length, self.eps, self.n_octaves = hop_length, eps, n_octaves
        self.n_bins = n_octaves * bins_per_octave
        q = 1.0 / (2.0 ** (1.0 / bins_per_octave) - 1.0)
        self.decimation: list[int] = []
        for octave in range(n_octaves):
            freqs = fmin * 2.0 ** (octave + torch.arange(bins_per_octave, dtype=torch.float64) / bins_per_octave)
            d = 1
            while hop_length % (2 * d) == 0 and sample_rate / (2 * d) / 2 >= 2 * float(freqs[-1]):
                d *= 2
            rate = sample_rate / d
            lengths = torch.ceil(q * rate / freqs).long()  # samples per kernel at the decimated rate
            n_fft = 1 << int(lengths.max() - 1).bit_length()
            kernels = torch.zeros(bins_per_octave, n_fft, dtype=torch.complex128)
            for k, (n, f) in enumerate(zip(lengths.tolist(), freqs.tolist())):
                t = torch.arange(n, dtype=torch.float64)
                start = (n_fft - n) // 2
                kernels[k, start:start + n] = torch.hann_window(n, periodic=False, dtype=torch.float64) / n * torch.exp(
                    2j * torch.pi * f / rate * (t - n // 2))
            spectral = torch.fft.fft(kernels, dim=1)[:, : n_fft // 2 + 1].conj() / n_fft  # (B, n_fft/2 + 1)
            # real and imaginary parts apart (rebuilt, not saved): the product below in real arithmetic, as ONNX has
            # no complex tensors
            self.register_buffer(f"kernels_{octave}", torch.view_as_real(spectral).float(), persistent=False)
            self.decimation.append(d)
        self.halve = HalfRate()

    def power(self, wave: torch.Tensor) -> torch.Tensor:
        """|CQT|² in float32: (B, S) → (B, K, T)."""
        frames = wave.shape[-1] // self.hop_length + 1
        octaves = []
        with full_precision(wave):
            signal, d = wave.float(), 1
            for octave in reversed(range(self.n_octaves)):  # top octave first, halving the rate on the way down
                while d < self.decimation[octave]:
                    signal, d = self.halve(signal), 2 * d
                kernels = getattr(self, f"kernels_{octave}")  # (B_o, F_o, 2): real, imaginary
                n_fft = 2 * (kernels.shape[1] - 1)
                spec = torch.stft(signal, n_fft, self.hop_length // d, window=torch.ones(n_fft, device=wave.device),
                                  center=True, pad_mode="constant", return_complex=True)[..., :frames]  # (B, F_o, T)
                k_re, k_im, s_re, s_im = kernels[..., 0], kernels[..., 1], spec.real, spec.imag
                re, im = k_re @ s_re - k_im @ s_im, k_re @ s_im + k_im @ s_re  # (B, B_o, T)
                octaves.insert(0, re ** 2 + im ** 2)
        return torch.cat(octaves, dim=1)  # (B, K, T)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with full_precision(wave):
            x = torch.log(self.power(wave) + self.eps)  # (B, K, T)
        return self.standardise(x)  # (B, 1, K, T)


def fold_pitch_classes(bins: torch.Tensor, per_class: int) -> torch.Tensor:
    """Sum CQT bins (B, K, T), K = octaves · 12 · per_class with bin 0 on pitch class 0, into (B, 12, T): each pitch
    class takes the `per_class` bins centred on it (librosa's `cqt_to_chroma` for an odd `per_class`: at 36 bins per
    octave, C takes the bins a third of a semitone below C, on C and above), the bins below the first class's
    centre wrapping round to the top, where they belong by pitch class."""
    b, k, t = bins.shape
    below = (per_class - 1) // 2  # bins under each class's centre that it owns
    rolled = torch.roll(bins, shifts=below, dims=1)  # bin j → j + below: each class's bins now start at its index
    return rolled.view(b, k // (12 * per_class), 12, per_class, t).sum(dim=(1, 3))  # (B, 12, T)


class Chroma(Frontend):
    """Chromagram: CQT power folded onto the 12 pitch classes (Choi et al. 2017, eq. 5; pitch class 0 is C when
    fmin is a C), log-compressed and standardised. (B, S) → (B, 1, 12, T).

    Args:
        sample_rate: input rate.
        hop_length: samples between frames.
        fmin: lowest CQT bin, a C.
        n_octaves: octaves folded.
        bins_per_octave: CQT resolution, a multiple of 12 (finer bins are summed into their pitch class).
        eps: log(power + eps).
        mean: normalisation mean (a buffer).
        std: normalisation std (a buffer).
    """

    def __init__(self, sample_rate: int = 16000, hop_length: int = 256, fmin: float = 32.70319566257483,
                 n_octaves: int = 7, bins_per_octave: int = 12, eps: float = 1e-8, mean: float = 0.0,
                 std: float = 1.0) -> None:
        super().__init__(mean, std)
        if bins_per_octave % 12:
            raise ValueError(f"bins_per_octave {bins_per_octave} is not a multiple of 12")
        self.cqt = CQT(sample_rate, hop_length, fmin, n_octaves, bins_per_octave)
        self.n_octaves, self.per_class, self.eps, self.hop_length = n_octaves, bins_per_octave // 12, eps, hop_length

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with full_precision(wave):
            chroma = fold_pitch_classes(self.cqt.power(wave), self.per_class)  # (B, 12, T)
            x = torch.log(chroma + self.eps)
        return self.standardise(x)  # (B, 1, 12, T)


class STFT(Frontend):
    """Log-magnitude short-time Fourier transform, log(|X| + eps), Hann window, standardised. (B, S) → (B, 1, F, T),
    F = n_fft / 2 + 1; frames as in LogMel. Float32 even under autocast.

    Args:
        n_fft: FFT size.
        hop_length: samples between frames.
        eps: log(|X| + eps).
        mean: normalisation mean (a buffer).
        std: normalisation std (a buffer).
    """

    def __init__(self, n_fft: int = 512, hop_length: int = 256, eps: float = 1e-5, mean: float = 0.0,
                 std: float = 1.0) -> None:
        super().__init__(mean, std)
        self.n_fft, self.hop_length, self.eps = n_fft, hop_length, eps
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with full_precision(wave):
            spec = torch.stft(wave.float(), self.n_fft, self.hop_length, window=self.window, center=True,
                              return_complex=True)  # (B, F, T)
            x = torch.log(spec.abs() + self.eps)
        return self.standardise(x)  # (B, 1, F, T)
