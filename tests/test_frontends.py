import math

import pytest
import torch
import torchaudio

from ssl_mir.frontends import CQT, STFT, Chroma, LogMel


@pytest.mark.parametrize("freq, bin_", [(32.70, 0), (55.0, 9), (261.63, 36), (440.0, 45), (1000.0, 59), (3951.0, 83)])
def test_cqt_puts_a_tone_in_its_bin_at_the_same_level_in_every_octave(freq: float, bin_: int) -> None:
    """Bin k is centred on C1 · 2^(k/12); a unit sine gives |CQT| = 1/4 (Hann mean 1/2, half the amplitude)."""
    t = torch.arange(32768) / 16000
    spectrum = CQT()(torch.sin(2 * math.pi * freq * t)[None])[0, 0, :, 8:-8].mean(dim=1)  # away from the edges
    assert int(spectrum.argmax()) == bin_
    assert float(spectrum.max()) == pytest.approx(math.log(1 / 16), abs=0.15)


def test_cqt_frames_match_the_log_mel_frames_and_its_range_is_checked() -> None:
    wave = torch.randn(2, 20000)
    assert CQT()(wave).shape[-1] == LogMel()(wave).shape[-1] == 20000 // 256 + 1
    assert CQT(n_octaves=6, bins_per_octave=24)(wave).shape == (2, 1, 144, 79)
    with pytest.raises(ValueError, match=r"top CQT bin \(\d+ Hz\) is above Nyquist \(8000 Hz\)"):
        CQT(n_octaves=9)


def test_chroma_puts_a_tone_in_its_pitch_class_at_any_resolution() -> None:
    t = torch.arange(16000) / 16000
    for freq, pitch_class in [(440.0, 9), (261.63, 0), (98.0, 7), (1174.66, 2)]:  # A4, C4, G2, D6
        wave = torch.sin(2 * math.pi * freq * t)[None]
        for bins in (12, 36):
            chroma = Chroma(bins_per_octave=bins)(wave)
            assert chroma.shape == (1, 1, 12, 63) and int(chroma[0, 0, :, 5:-5].mean(1).argmax()) == pitch_class
    with pytest.raises(ValueError, match="bins_per_octave 10 is not a multiple of 12"):
        Chroma(bins_per_octave=10)


def test_stft_is_the_log_magnitude_with_the_tone_in_its_bin() -> None:
    t = torch.arange(16000) / 16000
    spec = STFT(n_fft=512, hop_length=256)(torch.sin(2 * math.pi * 1000.0 * t)[None])
    assert spec.shape == (1, 1, 257, 63)
    assert int(spec[0, 0, :, 10].argmax()) == 32  # 1000 Hz / (16000 / 512) = 32
    # Hann-windowed unit sine at an exact bin: |X| = n_fft / 4.
    assert float(spec[0, 0, 32, 10]) == pytest.approx(math.log(512 / 4), abs=1e-3)


@pytest.mark.parametrize("scale, norm", [("slaney", "slaney"), ("htk", None)])
def test_log_mel_agrees_with_librosa(scale: str, norm: str | None) -> None:
    """Stated tolerance: mel power within 1e-4 of librosa's, relative to the largest value."""
    import numpy as np
    librosa = pytest.importorskip("librosa")  # the dev extra installs it; the package never needs it

    rng = np.random.default_rng(0)
    t = np.arange(32000) / 16000
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 130.8 * t)
         + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    reference = librosa.feature.melspectrogram(y=x, sr=16000, n_fft=512, hop_length=256, n_mels=64,
                                               htk=scale == "htk", norm=norm, power=2.0, center=True,
                                               pad_mode="reflect")  # torchaudio pads by reflection
    ours = LogMel(16000, 512, 256, 64, mel_scale=scale, mel_norm=norm, eps=1e-12)(torch.from_numpy(x)[None])
    ours = ours[0, 0].exp().double().numpy()
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() / reference.max() < 1e-4


def test_cqt_agrees_with_librosa_after_calibrating_each_bin() -> None:
    """librosa scales each CQT bin by its own convention; ours gives every bin the same gain (1/4 for a unit sine).
    With librosa's per-bin gain measured on a unit sine at each bin centre, the stated tolerance on a three-tone
    signal: the same peak bins, each within 0.5 dB, and log-magnitudes correlated above 0.95 across all bins."""
    import numpy as np
    librosa = pytest.importorskip("librosa")  # the dev extra installs it; the package never needs it

    sr, fmin = 16000, 32.70319566257483
    freqs = fmin * 2 ** (np.arange(84) / 12)
    t = np.arange(2 * sr) / sr
    units = np.sin(2 * np.pi * freqs[:, None] * t[None]).astype(np.float32)  # one unit sine per bin centre
    responses = np.abs(librosa.cqt(units, sr=sr, hop_length=256, fmin=fmin, n_bins=84, bins_per_octave=12))
    gain = responses[np.arange(84), np.arange(84), 12:-12].mean(axis=1)  # (84,)
    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 130.81 * t)
         + 0.1 * np.sin(2 * np.pi * 1975.5 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    reference = (np.abs(librosa.cqt(x, sr=sr, hop_length=256, fmin=fmin, n_bins=84, bins_per_octave=12))
                 / gain[:, None] * 0.25)[:, 12:-12]
    ours = torch.exp(0.5 * CQT(eps=0.0)(torch.from_numpy(x)[None])[0, 0]).double().numpy()[:, 12:-12]
    peaks = [24, 45, 71]  # C3, A4, B6
    for spectrum in (reference.mean(1), ours.mean(1)):  # each tone is the top of its neighbourhood
        assert [int(p - 3 + spectrum[p - 3:p + 4].argmax()) for p in peaks] == peaks
    assert np.abs(20 * np.log10(ours.mean(1)[peaks] / reference.mean(1)[peaks])).max() < 0.5
    assert np.corrcoef(np.log(reference + 1e-6).ravel(), np.log(ours + 1e-6).ravel())[0, 1] > 0.95


@pytest.mark.parametrize("samples", [16000, 16001, 7])
def test_half_rate_is_torchaudios_resampler(samples: int) -> None:
    from ssl_mir.frontends import HalfRate

    wave = torch.randn(3, samples)
    torch.testing.assert_close(HalfRate()(wave), torchaudio.functional.resample(wave, 2, 1), atol=1e-6, rtol=0)


def test_mfcc_deltas_are_torchaudios() -> None:
    from ssl_mir.encoders.mfcc import deltas

    x = torch.randn(2, 13, 40)
    torch.testing.assert_close(deltas(x), torchaudio.functional.compute_deltas(x), atol=1e-6, rtol=0)
