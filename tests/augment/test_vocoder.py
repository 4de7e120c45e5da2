"""The phase vocoder's own pieces against torch's and a direct computation; its audible effects are in test_ops."""

from __future__ import annotations

import pytest
import torch

from ssl_mir.augment import vocoder

SR = 16000


@pytest.mark.parametrize("hop", [vocoder.PITCH_HOP, vocoder.STRETCH_HOP])
def test_stft_and_its_inverse_are_torchs(hop: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 2 * SR)
    window = torch.hann_window(vocoder.N_FFT)
    spec = torch.stft(x, vocoder.N_FFT, hop, window=window, center=True, return_complex=True).transpose(1, 2)
    magnitude, phase = vocoder._polar_stft(x, vocoder.N_FFT, hop)
    assert torch.allclose(magnitude, spec.abs(), atol=1e-4)
    assert torch.allclose(torch.polar(magnitude, phase), spec, atol=1e-4)
    y = vocoder._polar_istft(magnitude, phase, vocoder.N_FFT, hop, x.shape[-1])
    expected = torch.istft(spec.transpose(1, 2), vocoder.N_FFT, hop, window=window, center=True, length=x.shape[-1])
    assert torch.allclose(y, expected, atol=1e-5)
    assert torch.allclose(y, x, atol=1e-5)


def direct_nearest_peak(magnitude: torch.Tensor) -> torch.Tensor:
    """For every bin, the nearest strict local maximum of its frame (the lower one on a tie), by search."""
    out = torch.empty(magnitude.shape, dtype=torch.long)
    for index in torch.cartesian_prod(*(torch.arange(d) for d in magnitude.shape[:-1])):
        row = magnitude[tuple(index)].tolist()
        padded = [float("-inf")] + row + [float("-inf")]
        peaks = [k for k in range(len(row)) if padded[k + 1] > padded[k] and padded[k + 1] > padded[k + 2]]
        out[tuple(index)] = torch.tensor([min(peaks, key=lambda p: (abs(p - k), p)) for k in range(len(row))])
    return out


def test_nearest_peak_is_found_at_any_distance() -> None:
    torch.manual_seed(0)
    magnitude = torch.rand(2, 3, 300)
    magnitude[0, 0] = 0.0
    magnitude[0, 0, 290] = 1.0  # one peak, 290 bins from the first bin: a click's flat spectrum is like this
    magnitude[1, 2, :150] = torch.linspace(0, 1, 150)  # a slope: no peak until its top
    assert torch.equal(vocoder._nearest_peak(magnitude), direct_nearest_peak(magnitude))


def test_a_zero_shift_and_a_unit_rate_give_the_input_back() -> None:
    """Frame for frame, the accumulated phase must be the input's: an advance applied one frame late (or unwrapped
    sums that lose float32 precision) would scramble noise."""
    torch.manual_seed(0)
    x = 0.1 * torch.randn(3, 4 * SR)
    for y in (vocoder.pitch_shift(x, torch.zeros(3)), vocoder.time_stretch(x, torch.ones(3))):
        assert float((y - x).norm() / x.norm()) < 2e-3
