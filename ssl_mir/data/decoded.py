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

from ssl_mir.data.audio import int16_crop, read_audio, to_int16
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

    def read(self, path: str, start: float, duration: float, sample_rate: int) -> torch.Tensor:
        """`duration` seconds from `start` seconds, zero-padded past the end: the same contract as
        `audio.read_crop`. Returns (S,) float32."""
        if sample_rate != self.sample_rate:
            raise ValueError(f"decoded cache {self.folder} holds {self.sample_rate} Hz audio, {sample_rate} Hz asked")
        entry = self.index.get(file_key(path))
        if entry is None:
            raise KeyError(f"{path}: not in the decoded cache {self.folder} (changed since it was built?)")
        shard, offset, frames = entry
        if shard not in self._maps:
            self._maps[shard] = np.memmap(self.folder / f"shard_{shard:05d}.i16", dtype="<i2", mode="r")
        return int16_crop(self._maps[shard][offset:offset + frames], start, duration, sample_rate)
