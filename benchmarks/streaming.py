"""Streaming shards against the files path and the decoded cache: clips/s and peak memory as the corpus grows.

    .venv/bin/python benchmarks/streaming.py --sizes 1000 10000 100000

For each size, writes that many generated mono clips (16-bit WAV, 16 kHz) to a temporary folder, shards them
(`ssl-mir shard`, int16) and builds the decoded cache, then, in a fresh process per reader, runs the pre-training
data module's loader (2 views of 0.5 s per clip, batches of 64, 2 workers, no augmentation) for `--batches` batches
after 10 warm-up batches. Memory is sampled every 50 ms from the first batch on, over the loader process and its
workers together, as the peak proportional set size (PSS: shared pages split among the processes that map them),
and its anonymous part (Pss_Anon: heap and arrays the processes hold), apart from the file-backed part (pages of the
shards, cache or files mapped or read: page cache, which the kernel reclaims under pressure).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

SR, CLIP_S, CROP = 16000, 1.0, 8000
READERS = ("files", "cache", "streaming")


def write_corpus(folder: Path, n: int) -> Path:
    audio = folder / "audio"
    audio.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(CLIP_S * SR)) / SR
    for i in range(n):
        wave = 0.3 * np.sin(2 * np.pi * (110 + i % 500) * t) + 0.05 * rng.standard_normal(t.size)
        sf.write(audio / f"clip_{i:06d}.wav", wave.astype(np.float32), SR, subtype="PCM_16")
    return audio


def tree_pss_kb(pid: int) -> tuple[int, int]:
    """(PSS, anonymous PSS) of `pid` and its descendants, in kB (Linux /proc)."""
    total, anon, stack = 0, 0, [pid]
    while stack:
        p = stack.pop()
        try:
            fields = dict(line.split()[:2] for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:])
            total, anon = total + int(fields["Pss:"]), anon + int(fields["Pss_Anon:"])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, KeyError):
            continue
    return total, anon


def epochs(loader: object) -> Iterator[dict]:
    """Batches of epoch after epoch, as a trainer draws them."""
    while True:
        yield from loader  # type: ignore[misc]


def measure(reader: str, audio: str, shards: str, cache: str, batches: int) -> dict[str, float]:
    """In this process: the data module's loader over one reader; clips/s and peak PSS."""
    import os

    from ssl_mir.data.datamodules import PretrainDataModule

    common = dict(sample_rate=SR, crop_samples=CROP, n_views=2, split=None, batch_size=64, num_workers=2,
                  on_bad_file="raise")
    if reader == "streaming":
        data = PretrainDataModule(streaming=shards, **common)
    else:
        data = PretrainDataModule(manifest=audio, decoded_cache=cache if reader == "cache" else None, **common)
        data.prepare_data()
    data.setup("fit")
    loader = epochs(data.train_dataloader())
    peak, running = [0, 0], [True]

    def sample() -> None:
        while running[0]:
            total, anon = tree_pss_kb(os.getpid())
            peak[0], peak[1] = max(peak[0], total), max(peak[1], anon)
            time.sleep(0.05)

    for _ in range(10):
        next(loader)
    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    seconds = time.perf_counter() - start
    running[0] = False
    watcher.join()
    return {"clips_per_s": batches * 64 / seconds, "peak_pss_mb": peak[0] / 1024, "peak_anon_mb": peak[1] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--batches", type=int, default=150)
    parser.add_argument("--chunk_bytes", default="64MB", help="litdata chunk size of the shards")
    parser.add_argument("--measure", nargs=5, metavar=("READER", "AUDIO", "SHARDS", "CACHE", "BATCHES"),
                        help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        reader, audio, shards, cache, batches = args.measure
        print(json.dumps(measure(reader, audio, shards, cache, int(batches))))
        return
    from ssl_mir.data.decoded import DecodedCache
    from ssl_mir.data.shards import write_shards

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / str(n)
            start = time.perf_counter()
            audio = write_corpus(folder, n)
            written = time.perf_counter()
            shards = write_shards(str(audio), str(folder / "shards"), sample_rate=SR, workers=2,
                                  chunk_bytes=args.chunk_bytes)
            sharded = time.perf_counter()
            DecodedCache(folder / "cache", SR).build(sorted(str(p.resolve()) for p in audio.glob("*.wav")))
            cached = time.perf_counter()
            row = {"clips": n, "write_s": written - start, "shard_s": sharded - written, "cache_s": cached - sharded}
            for reader in READERS:
                done = subprocess.run([sys.executable, __file__, "--measure", reader, str(audio), shards,
                                       str(folder / "cache"), str(args.batches)], capture_output=True, text=True)
                if done.returncode:
                    raise RuntimeError(done.stderr[-3000:])
                row[reader] = json.loads(done.stdout.strip().splitlines()[-1])
            row["streaming / cache"] = row["streaming"]["clips_per_s"] / row["cache"]["clips_per_s"]
            print(json.dumps(row), flush=True)
            rows.append(row)
            import shutil

            shutil.rmtree(folder)
    first, last = rows[0], rows[-1]
    for reader in READERS:
        for key, name in (("peak_anon_mb", "anonymous PSS"), ("peak_pss_mb", "PSS")):
            print(f"{reader}: peak {name} {first[reader][key]:.0f} MB at {first['clips']} clips → "
                  f"{last[reader][key]:.0f} MB at {last['clips']} clips ({last[reader][key] / first[reader][key]:.3f}×)")
    print("streaming / cache clips/s: " + ", ".join(f"{r['streaming / cache']:.2f}" for r in rows))


if __name__ == "__main__":
    main()
