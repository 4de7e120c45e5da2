from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ssl_mir.data.audio import BadAudioError, check_content, probe, read_audio, read_crop
from tests.conftest import write_tone


def test_read_crop_returns_the_requested_segment(tmp_path: Path) -> None:
    ramp = (np.arange(16000 * 3) / (16000 * 3)).astype(np.float32) * 0.9
    sf.write(tmp_path / "ramp.wav", ramp, 16000, subtype="FLOAT")
    crop = read_crop(tmp_path / "ramp.wav", 1.5, 0.5, 16000)
    assert crop.shape == (8000,)
    torch.testing.assert_close(crop, torch.from_numpy(ramp[24000:32000]))


def test_read_crop_pads_past_the_end(tmp_path: Path) -> None:
    write_tone(tmp_path / "t.wav", seconds=1.0)
    crop = read_crop(tmp_path / "t.wav", 0.9, 0.5, 16000)
    assert crop.shape == (8000,)
    assert crop[-4000:].abs().max() == 0


def test_stereo_is_downmixed_and_resampled(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    left, right = np.sin(2 * np.pi * 1000 * t), np.zeros_like(t)
    sf.write(tmp_path / "st.wav", np.stack([left, right], 1).astype(np.float32), 44100, subtype="FLOAT")
    wave = read_audio(tmp_path / "st.wav", 16000)
    assert wave.shape == (16000,)
    spectrum = torch.fft.rfft(wave).abs()
    assert int(spectrum.argmax()) == pytest.approx(1000, abs=2)  # 1 Hz bins over one second
    assert float(wave.abs().max()) == pytest.approx(0.5, abs=0.02)  # mean of the two channels


def test_probe_names_file_and_problem(tmp_path: Path) -> None:
    with pytest.raises(BadAudioError, match="missing.wav: file not found"):
        probe(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really audio")
    with pytest.raises(BadAudioError, match="junk.wav: cannot decode"):
        probe(tmp_path / "junk.wav")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(BadAudioError, match="empty.wav: empty file"):
        probe(tmp_path / "empty.wav")


def test_check_content_finds_nan_and_silence(tmp_path: Path) -> None:
    x = np.full(16000, 0.1, dtype=np.float32)
    x[5000] = np.nan
    sf.write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT")
    sf.write(tmp_path / "silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    write_tone(tmp_path / "ok.wav")
    assert "NaN" in check_content(tmp_path / "nan.wav")
    assert "silent" in check_content(tmp_path / "silent.wav")
    assert check_content(tmp_path / "ok.wav") is None


def test_check_content_finds_absurd_amplitudes_against_a_configurable_bound(tmp_path: Path) -> None:
    write_tone(tmp_path / "loud.wav", amp=1e30, subtype="FLOAT")
    write_tone(tmp_path / "hot.wav", amp=2.0, subtype="FLOAT")  # a little over full scale is a float file's right
    assert check_content(tmp_path / "loud.wav") == "peak amplitude 1e+30 above the bound 16 (max_amplitude)"
    assert check_content(tmp_path / "hot.wav") is None
    assert "above the bound 1.5" in check_content(tmp_path / "hot.wav", max_amplitude=1.5)


def test_a_truncated_mp3_is_bad_although_its_header_declares_the_whole_length(tmp_path: Path) -> None:
    whole = write_tone(tmp_path / "whole.mp3", seconds=8.0)
    data = whole.read_bytes()
    (tmp_path / "cut.mp3").write_bytes(data[: int(0.31 * len(data))])
    assert probe(tmp_path / "cut.mp3").duration == pytest.approx(8.0)  # the header still says 8 s
    problem = check_content(tmp_path / "cut.mp3", probe(tmp_path / "cut.mp3"))
    assert problem is not None and problem.startswith("truncated: decodes 2.") and "of the 8.00 s" in problem
    assert check_content(whole, probe(whole)) is None
