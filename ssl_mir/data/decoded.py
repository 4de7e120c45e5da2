"""An optional cache of the corpus decoded and resampled once, as int16 memory-mapped shards on local disk.

Decoding MP3 or resampling in every epoch costs the workers far more than reading samples; with the cache a crop is
a slice of a memory map. Memory stays flat as the corpus grows: nothing is held in RAM but the index, and the
operating system pages shards in and out. 16 bits is what nearly every MIR corpus was distributed in.

Layout under `root/<sample_rate>/`: `shard_00000.i16`, … (raw little-endian int16, appended to) and `index.json`
mapping each file (path, size, modification time) to (shard, offset, frames). A changed file is decoded again.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import torch

from ssl_mir.data.audio import PCM16_SCALE, int16_crop, read_audio, to_int16
from ssl_mir.progress import progress

log = logging.getLogger(__name__)

SHARD_SAMPLES = 1 << 29  # 1 GiB of int16 per shard


def file_key(path: str) -> str:
    stat = os.stat(path)
    return f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}"


class DecodedCache:
    """Reads crops from the cache; `build` adds the files it lacks.

    Args:
        root: the cache folder (one subfolder per sample rate).
        sample_rate: the rate files are resampled to.
    """

    def __init__(self, root: str | Path, sample_rate: int) -> None:
        self.folder = Path(root) / str(sample_rate)
        self.sample_rate = sample_rate
        index_file = self.folder / "index.json"
        self.index: dict[str, list[int]] = json.loads(index_file.read_text()) if index_file.exists() else {}
        self._maps: dict[int, np.memmap] = {}

    def __getstate__(self) -> dict:  # workers open their own memory maps
        return {**self.__dict__, "_maps": {}}

    def build(self, paths: list[str]) -> int:
        """Decode and append every file not yet cached (or changed since); returns how many were added."""
        keys = {p: file_key(p) for p in paths}
        missing = [p for p in paths if keys[p] not in self.index]
        if not missing:
            return 0
        self.folder.mkdir(parents=True, exist_ok=True)
        shard = max((v[0] for v in self.index.values()), default=0)
        for path in progress(missing, f"decoded cache: {len(missing)} files"):
            wave = read_audio(path, self.sample_rate).numpy()  # (S,) float32
            samples = to_int16(wave)
            shard_file = self.folder / f"shard_{shard:05d}.i16"
            offset = shard_file.stat().st_size // 2 if shard_file.exists() else 0
            if offset and offset + samples.size > SHARD_SAMPLES:
                shard, offset = shard + 1, 0
                shard_file = self.folder / f"shard_{shard:05d}.i16"
            with open(shard_file, "ab") as f:
                f.write(samples.tobytes())
            self.index[keys[path]] = [shard, offset, int(samples.size)]
        tmp = self.folder / "index.json.tmp"
        tmp.write_text(json.dumps(self.index))
        tmp.replace(self.folder / "index.json")
        self._maps.clear()  # shards grew
        log.info("decoded cache %s: %d files added, %d in all", self.folder, len(missing), len(self.index))
        return len(missing)

    def entry(self, path: str, sample_rate: int) -> tuple[int, int, int]:
        """(shard, offset, frames) of a cached file."""
        if sample_rate != self.sample_rate:
            raise ValueError(f"decoded cache {self.folder} holds {self.sample_rate} Hz audio, {sample_rate} Hz asked")
        entry = self.index.get(file_key(path))
        if entry is None:
            raise KeyError(f"{path}: not in the decoded cache {self.folder} (changed since it was built?)")
        shard, offset, frames = entry
        return shard, offset, frames

    def read(self, path: str, start: float, duration: float, sample_rate: int) -> torch.Tensor:
        """`duration` seconds from `start` seconds, zero-padded past the end: the same contract as
        `audio.read_crop`. Returns (S,) float32."""
        shard, offset, frames = self.entry(path, sample_rate)
        if shard not in self._maps:
            self._maps[shard] = np.memmap(self.folder / f"shard_{shard:05d}.i16", dtype="<i2", mode="r")
        return int16_crop(self._maps[shard][offset:offset + frames], start, duration, sample_rate)

    def span(self, path: str, start: float, duration: float, sample_rate: int) -> torch.Tensor:
        """Where the crop `read` would give lies in the cache, instead of its samples: (shard, first sample, samples
        there before the file ends), int64 (3,). `ResidentCache.crops` cuts the samples."""
        shard, offset, frames = self.entry(path, sample_rate)
        first = min(int(start * sample_rate), frames)
        return torch.tensor([shard, offset + first, min(round(duration * sample_rate), frames - first)])

    def resident(self, device: torch.device) -> ResidentCache:
        """Every shard, in `device`'s memory."""
        return ResidentCache(self.folder, device)


class ResidentCache:
    """The decoded cache's shards held in one device's memory, so that crops are cut there: the loader's workers hand
    over only where each crop lies (`DecodedCache.span`), and no audio crosses from host to device per step.

    Args:
        folder: the cache's folder for one sample rate.
        device: where the samples are held.
    """

    def __init__(self, folder: Path, device: torch.device) -> None:
        shards = sorted(folder.glob("shard_*.i16"))
        sizes = [f.stat().st_size // 2 for f in shards]
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if 2 * sum(sizes) > free // 2:
                raise ValueError(f"decoded cache {folder}: {2 * sum(sizes) / 1e9:.1f} GB of samples would take more "
                                 f"than half of the {free / 1e9:.1f} GB free on {device}; leave data.device_crops off")
        self.samples = torch.cat([torch.from_numpy(np.fromfile(f, dtype="<i2")) for f in shards]).to(device)  # (N,)
        self.base = torch.tensor([0, *sizes], device=device).cumsum(0)[:-1]  # each shard's first sample

    def crops(self, spans: torch.Tensor, crop_samples: int) -> torch.Tensor:
        """spans (..., 3) from `DecodedCache.span` → crops (..., crop_samples) float32 in [-1, 1), zero past a
        file's end: the values `DecodedCache.read` gives."""
        step = torch.arange(crop_samples, device=spans.device)  # (S,)
        first = (self.base[spans[..., 0]] + spans[..., 1])[..., None]  # (..., 1)
        inside = step < spans[..., 2:3]  # (..., S)
        index = torch.where(inside, first + step, 0)
        return self.samples[index].float().div_(PCM16_SCALE).mul_(inside)
