"""Audio decoding with soundfile: header probes, seek-reads of crops, mono downmix, resampling, content checks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

if TYPE_CHECKING:  # torch is imported where a crop becomes a tensor, so that header probes and checks start quickly
    import torch

# A file whose absolute peak stays below this (-80 dBFS) is called silent.
SILENCE_PEAK = 1e-4
# The default bound on a file's absolute peak (+24 dBFS): float files may exceed full scale a little, not by orders.
MAX_AMPLITUDE = 16.0
# A file that decodes to fewer frames than its header declares, by more than this share plus 50 ms, is truncated
# (MP3 headers estimate their length; encoder padding differs by a few frames).
LENGTH_TOLERANCE = 0.01
AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".aiff", ".aif", ".au")


class BadAudioError(ValueError):
    """An audio file that cannot be used, with the file and the problem named."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says."""

    sample_rate: int
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe(path: str | Path) -> AudioInfo:
    """Read a file's header.

    Raises:
        BadAudioError: the file is missing, cannot be decoded, or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise BadAudioError(path, "file not found")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise BadAudioError(path, f"cannot decode ({err})") from err
    if info.frames <= 0:
        raise BadAudioError(path, "empty file (0 samples)")
    return AudioInfo(sample_rate=int(info.samplerate), frames=int(info.frames), channels=int(info.channels))


def check_content(path: str | Path, info: AudioInfo | None = None, max_amplitude: float = MAX_AMPLITUDE,
                  block_frames: int = 1 << 16) -> str | None:
    """Decode the whole file in blocks and return a problem or None: a decode error, NaN/Inf samples, a peak above
    `max_amplitude`, silence, or (given the header's `info`) fewer decoded frames than the header declares."""
    peak, decoded = 0.0, 0
    try:
        with sf.SoundFile(str(path)) as f:
            # Not sf.blocks: it pads the blocks to the header's length, so a truncated MP3 would look whole.
            while len(block := f.read(block_frames, dtype="float32", always_2d=True)):
                if not np.isfinite(block).all():
                    return "contains NaN or Inf samples"
                peak = max(peak, float(np.abs(block).max()))
                decoded += len(block)
    except (sf.LibsndfileError, RuntimeError) as err:
        return f"cannot decode ({err})"
    if peak > max_amplitude:
        return f"peak amplitude {peak:.3g} above the bound {max_amplitude:g} (max_amplitude)"
    if peak < SILENCE_PEAK:
        return f"silent (peak {peak:.1e} below {SILENCE_PEAK:.0e})"
    if info is not None and decoded < info.frames * (1.0 - LENGTH_TOLERANCE) - 0.05 * info.sample_rate:
        return (f"truncated: decodes {decoded / info.sample_rate:.2f} s of the {info.duration:.2f} s its header "
                f"declares")
    return None


def read_crop(path: str | Path, start: float, duration: float, sample_rate: int) -> torch.Tensor:
    """Read `duration` seconds from `start` seconds by seeking, downmix to mono and resample.

    Only the frames of the crop are decoded. Returns exactly round(duration * sample_rate) samples, zero-padded
    where the file ends early.

    Returns:
        (S,) float32 waveform at `sample_rate`.
    """
    import torch
    import torchaudio.functional as AF
    n_out = round(duration * sample_rate)
    try:
        with sf.SoundFile(str(path)) as f:
            src_rate = f.samplerate
            first = min(int(start * src_rate), max(f.frames - 1, 0))
            f.seek(first)
            # A few extra source frames keep the resampler's last output sample exact.
            frames = f.read(math.ceil(duration * src_rate) + 8, dtype="float32", always_2d=True)  # (N, C)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise BadAudioError(path, f"cannot decode ({err})") from err
    wave = torch.from_numpy(frames).mean(dim=1)  # (N,)
    if src_rate != sample_rate:
        wave = AF.resample(wave, src_rate, sample_rate)
    wave = wave[:n_out]
    if wave.numel() < n_out:
        wave = torch.nn.functional.pad(wave, (0, n_out - wave.numel()))
    return wave.contiguous()


PCM16_SCALE = 32768.0  # libsndfile's (and so soundfile's) int16 ↔ float convention


def to_int16(wave: np.ndarray) -> np.ndarray:
    """(S,) float samples → int16 by libsndfile's convention: a 16-bit file read as float comes back unchanged."""
    return np.clip(np.round(wave * PCM16_SCALE), -32768, 32767).astype("<i2")


def int16_crop(samples: np.ndarray, start: float, duration: float, sample_rate: int) -> torch.Tensor:
    """`duration` seconds from `start` seconds of 16-bit samples (S,) (an array or a memory map: only the crop is
    read), as float32 in [-1, 1), zero-padded past the end: the same contract as `read_crop`, and for a 16-bit file
    at `sample_rate` the same values."""
    import torch
    first = min(int(start * sample_rate), len(samples))
    n = round(duration * sample_rate)
    wave = torch.from_numpy(np.asarray(samples[first:first + n], dtype=np.float32) / PCM16_SCALE)
    return torch.nn.functional.pad(wave, (0, n - wave.numel())) if wave.numel() < n else wave


def read_audio(path: str | Path, sample_rate: int) -> torch.Tensor:
    """Decode a whole file to mono at `sample_rate`. Returns (S,)."""
    info = probe(path)
    return read_crop(path, 0.0, info.duration, sample_rate)
