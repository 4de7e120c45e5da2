"""Decoded cache: crops read from compressed, resampled files against crops sliced from the int16 memory-mapped
cache, in one run, and the reader's memory as the corpus grows.

    .venv/bin/python benchmarks/decoded_cache.py --files 64 --format mp3

Writes `--files` generated stereo clips of 30 s at 44.1 kHz (MP3 or FLAC) to a temporary folder, builds the cache
at 16 kHz, then reads 2.05 s crops at random offsets both ways.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf

from ssl_mir.data.audio import read_crop
from ssl_mir.data.decoded import DecodedCache

SR_FILE, SR, CROP_S = 44100, 16000, 32768 / 16000


def write_corpus(folder: Path, n: int, seconds: float, fmt: str) -> list[str]:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR_FILE)) / SR_FILE
    paths = []
    for i in range(n):
        tone = 0.3 * np.sin(2 * np.pi * (110 + 20 * i) * t) + 0.05 * rng.standard_normal(t.size)
        path = folder / f"clip_{i:04d}.{fmt}"
        sf.write(path, np.stack([tone, tone[::-1]], axis=1).astype(np.float32), SR_FILE,
                 format="MP3" if fmt == "mp3" else "FLAC")
        paths.append(str(path))
    return paths


def crops_per_second(read, paths: list[str], seconds: float, n: int) -> float:
    rng = np.random.default_rng(1)
    starts = rng.uniform(0, seconds - CROP_S, n)
    files = rng.integers(len(paths), size=n)
    start = time.perf_counter()
    for f, s in zip(files, starts):
        read(paths[f], float(s), CROP_S, SR)
    return n / (time.perf_counter() - start)


def held_bytes(cache_root: Path, paths: list[str], seconds: float) -> int:
    """Python memory held by a fresh reader after reading 3 crops from each of `paths`."""
    reader = DecodedCache(cache_root, SR)
    tracemalloc.start()
    for p in paths:
        for s in (0.0, seconds / 3, seconds / 2):
            reader.read(p, s, CROP_S, SR)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--format", choices=["mp3", "flac"], default="mp3")
    parser.add_argument("--crops", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_corpus(Path(tmp), args.files, args.seconds, args.format)
        cache_root = Path(tmp) / "cache"
        start = time.perf_counter()
        DecodedCache(cache_root, SR).build(paths)
        build_s = time.perf_counter() - start
        cache = DecodedCache(cache_root, SR)
        files = crops_per_second(read_crop, paths, args.seconds, args.crops)
        cached = crops_per_second(cache.read, paths, args.seconds, args.crops)
        quarter, whole = (held_bytes(cache_root, paths[: max(1, args.files // 4)], args.seconds),
                          held_bytes(cache_root, paths, args.seconds))
        shards = sum(p.stat().st_size for p in (cache_root / str(SR)).glob("shard_*"))
    print(f"{args.files} {args.format.upper()} files, {args.seconds:g} s stereo at {SR_FILE} Hz → {SR} Hz; "
          f"crops of {CROP_S:.2f} s")
    print(f"cache build: {build_s:.1f} s once, {shards / 2**20:.0f} MiB of shards")
    print(f"seek-read + decode + resample: {files:8.1f} crops/s")
    print(f"decoded cache (memory map)   : {cached:8.1f} crops/s")
    print(f"ratio cache / files: {cached / files:.1f}x")
    print(f"Python memory held after reading {max(1, args.files // 4)} vs {args.files} files: "
          f"{quarter / 1024:.0f} KiB vs {whole / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
