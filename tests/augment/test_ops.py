"""Each batched augmentation against its measurable effect, per row with its own parameter."""

from __future__ import annotations

import math

import pytest
import torch

from ssl_mir.augment import ops, vocoder
from ssl_mir.augment.filters import Equalizer
from ssl_mir.augment.vocabulary import GainDb, Polarity

SR = 16000


def sine(freq: float, seconds: float = 2.0, amp: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    return amp * torch.sin(2 * math.pi * freq * t)


def rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(dim=-1).sqrt()


def peak_hz(x: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(x * torch.hann_window(len(x))).abs()
    k = int(spectrum.argmax())
    # Parabolic interpolation between bins.
    a, b, c = (float(spectrum[i].log()) for i in (k - 1, k, k + 1))
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / len(x)


def period_s(x: torch.Tensor, hop: int = 80) -> float:
    """The lag (s) of the autocorrelation peak of the RMS envelope, between 0.1 and 0.45 s."""
    env = x.pow(2).unfold(0, hop, hop).sum(-1).sqrt()
    env = env - env.mean()
    lags = range(int(0.1 * SR / hop), int(0.45 * SR / hop))
    ac = torch.stack([(env[:-k] * env[k:]).mean() for k in lags])
    return lags[int(ac.argmax())] * hop / SR


@pytest.mark.parametrize("some_rows", [False, True])
def test_gain_changes_rms_by_the_drawn_db(some_rows: bool) -> None:
    x = torch.stack([sine(440), sine(1000), torch.randn(2 * SR) * 0.1])
    db = torch.tensor([-20.0, 6.0, -3.5])
    gain = GainDb()
    if some_rows:  # rows 0 and 2 only, in place, by one multiplication of the whole batch
        y = gain.apply_to_rows(x.clone(), torch.tensor([0, 2]), {"gain_db": db[[0, 2]]}, SR)
        db[1] = 0.0
    else:
        y = gain.apply(x, {"gain_db": db}, SR)
    assert torch.allclose(20 * torch.log10(rms(y) / rms(x)), db, atol=1e-4)


def test_polarity_flips_the_sign() -> None:
    x = torch.randn(3, 1000)
    assert torch.equal(Polarity().apply(x, {}, SR), -x)
    y = Polarity().apply_to_rows(x.clone(), torch.tensor([1]), {}, SR)
    assert torch.equal(y[1], -x[1]) and torch.equal(y[[0, 2]], x[[0, 2]])


def test_noise_is_added_at_the_drawn_snr() -> None:
    x = torch.stack([sine(440), sine(880, amp=0.05)])
    snr = torch.tensor([10.0, 30.0])
    torch.manual_seed(0)
    noise = ops.add_noise(x, snr) - x
    measured = 20 * torch.log10(rms(x) / rms(noise))
    assert torch.allclose(measured, snr, atol=0.1)


@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
def test_butterworth_is_3db_down_at_the_cutoff_and_falls_6n_db_per_octave(kind: str) -> None:
    cutoff, order = torch.tensor([1000.0, 2000.0]), torch.tensor([2.0, 4.0])
    freqs = torch.tensor([1000.0, 2000.0, 4000.0, 8000.0, 500.0, 250.0])
    h = 20 * torch.log10(ops.butterworth_response(freqs, kind, cutoff, order))  # (2, 6) dB
    assert h[0, 0] == pytest.approx(-3.01, abs=0.01) and h[1, 1] == pytest.approx(-3.01, abs=0.01)
    stop = (2, 3) if kind == "lowpass" else (4, 5)  # one octave apart, well into the stop band ...
    passing = 5 if kind == "lowpass" else 2  # two octaves into the pass band
    assert float(h[0, stop[0]] - h[0, stop[1]]) == pytest.approx(12.0, abs=0.3)  # 6 dB × order 2
    assert float(h[0, passing]) > -0.02  # ... and the pass band is flat


def test_fft_filter_removes_a_tone_above_the_cutoff_and_keeps_one_below() -> None:
    x = (sine(200) + sine(4000)).unsqueeze(0)
    y = ops.fft_filter(x, SR, lambda f: ops.butterworth_response(f, "lowpass", torch.tensor([1000.0]),
                                                                 torch.tensor([4.0])))[0]
    middle = y[SR // 2: -SR // 2]  # away from the clip's edges, where the tones start and stop abruptly
    spectrum = torch.fft.rfft(middle * torch.hann_window(len(middle))).abs()
    bin_of = lambda hz: round(hz * len(middle) / SR)  # noqa: E731
    ratio_db = 20 * torch.log10(spectrum[bin_of(4000)] / spectrum[bin_of(200)])
    assert float(ratio_db) == pytest.approx(-48.2, abs=0.5)  # 2 octaves above the cutoff at 24 dB/octave (order 4)
    assert float(rms(y)) == pytest.approx(0.5 / math.sqrt(2), rel=0.01)  # the 200 Hz tone, untouched


def test_bandpass_passes_its_centre() -> None:
    h = ops.butterworth_response(torch.tensor([1000.0, 100.0, 8000.0]), "bandpass", torch.tensor([1000.0]),
                                 torch.tensor([2.0]), torch.tensor([500.0]))
    assert float(h[0, 0]) == pytest.approx(1.0) and float(h[0, 1]) < 0.01 and float(h[0, 2]) < 0.01


def test_equalizer_gives_each_band_its_gain_and_joins_them_over_log_frequency() -> None:
    centers = torch.tensor([[100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0],
                            [6400.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]])  # row 1 unsorted: sorted inside
    gains = torch.tensor([[0.0, 6.0, -6.0, 12.0, 0.0, -12.0, 3.0], [3.0, 0.0, 6.0, -6.0, 12.0, 0.0, -12.0]])
    freqs = torch.tensor([100.0, 200.0, 283.0, 3200.0, 50.0, 7900.0])  # 283 Hz: half an octave above 200
    h = 20 * torch.log10(ops.equalizer_response(freqs, centers, gains))  # (2, 6) dB
    expected = torch.tensor([0.0, 6.0, 6.0 + (-6.0 - 6.0) * math.log2(283 / 200), -12.0, 0.0, 3.0])
    assert torch.allclose(h[0], expected, atol=1e-3) and torch.allclose(h[1], expected, atol=1e-3)
    tone = torch.stack([sine(200), sine(3200)])  # through the whole transform: one tone per row, one gain each
    y = Equalizer().apply(tone, {"centers": centers, "gains_db": gains}, SR)
    middle = slice(SR // 2, -SR // 2)
    assert torch.allclose(20 * torch.log10(rms(y[:, middle]) / rms(tone[:, middle])), torch.tensor([6.0, -12.0]),
                          atol=0.05)


def test_delay_adds_one_echo_at_the_drawn_delay() -> None:
    x = torch.zeros(2, 8000)
    x[:, 100] = 1.0
    y = ops.delay(x, torch.tensor([800, 3200]), volume=0.5)
    for row, shift in zip(y, (800, 3200)):
        assert torch.nonzero(row).flatten().tolist() == [100, 100 + shift]
        assert row[100] == pytest.approx(1 / 1.5) and row[100 + shift] == pytest.approx(0.5 / 1.5)


def test_reverb_tail_decays_by_60_db_over_rt60() -> None:
    x = torch.zeros(2, SR * 2)
    x[:, 0] = 1.0
    torch.manual_seed(0)
    y = ops.reverb(x, SR, torch.tensor([0.3, 0.9]), torch.tensor([1.0, 1.0]), max_rt60=1.0)
    for row, rt60 in zip(y, (0.3, 0.9)):
        energy = row.pow(2)
        early = energy[: int(0.05 * SR)].mean()
        late = energy[int((rt60 - 0.05) * SR): int(rt60 * SR)].mean()
        assert 10 * torch.log10(early / late) == pytest.approx(60 * (rt60 - 0.05) / rt60, abs=4.0)
        assert energy[int(rt60 * SR) + 10:].sum() < 1e-9 * energy.sum()  # the response ends at RT60


def test_crop_takes_each_rows_own_window() -> None:
    x = torch.arange(20.0).repeat(2, 1)
    assert ops.crop(x, torch.tensor([0, 7]), 5).tolist() == [[0, 1, 2, 3, 4], [7, 8, 9, 10, 11]]


def test_pitch_shift_moves_a_sine_by_the_drawn_ratio() -> None:
    x = torch.stack([sine(440), sine(300), sine(1000)])
    semitones = torch.tensor([3.0, -5.0, 7.0])
    y = vocoder.pitch_shift(x, semitones)
    assert y.shape == x.shape
    for row, f0, n in zip(y, (440, 300, 1000), semitones.tolist()):
        assert peak_hz(row) == pytest.approx(f0 * 2 ** (n / 12), rel=0.005)
    assert rms(y[0]) == pytest.approx(float(rms(x[0])), rel=0.1)  # level kept


def test_pitch_shift_keeps_a_click_trains_timing() -> None:
    t = torch.arange(5 * SR) / SR
    clicks = torch.zeros_like(t)
    clicks[:: SR // 4] = 1.0
    y = vocoder.pitch_shift(clicks.repeat(3, 1), torch.tensor([-5.0, 3.0, 7.0]))
    near_clicks = ((t % 0.25) < 0.04) | ((t % 0.25) > 0.24)  # ±10 ms around each click, after 30 ms of ring
    for row in y:
        assert period_s(row) == pytest.approx(0.25, abs=0.006)
        assert float(row.pow(2)[near_clicks].sum() / row.pow(2).sum()) > 0.75  # the clicks stay sharp


@pytest.mark.parametrize("signal", ["clicks", "tone_bursts"])
def test_time_stretch_changes_a_click_trains_period_by_the_drawn_factor(signal: str) -> None:
    seconds, period = 5.0, 0.25
    t = torch.arange(int(seconds * SR)) / SR
    if signal == "clicks":
        x = torch.zeros_like(t)
        x[:: int(period * SR)] = 1.0
    else:
        x = sine(1000, seconds) * ((t % period) < 0.03)
    rates = torch.tensor([1.25, 0.8, 1.1, 0.9])
    y = vocoder.time_stretch(x.repeat(len(rates), 1), rates)
    assert y.shape == (len(rates), len(x))
    for row, rate in zip(y, rates.tolist()):
        # Within two 5 ms envelope frames; no stretch would be off by 23 ms or more.
        assert period_s(row) == pytest.approx(period / rate, abs=0.01)


def test_time_stretch_keeps_the_pitch() -> None:
    y = vocoder.time_stretch(sine(440).repeat(2, 1), torch.tensor([0.8, 1.25]))
    for row in y:
        assert peak_hz(row[: SR]) == pytest.approx(440, rel=0.005)
