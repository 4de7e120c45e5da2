"""Probe-sweep time with embedding caching against without, in one run.

    .venv/bin/python benchmarks/probe_sweep.py

The sweep is the compare protocol's probing part: encoders × 3 label fractions × 3 seeds × 1 task, linear probe.
- **no cache**: every (fraction, seed) probe extracts its embeddings again, as a sweep written around a per-run
  probe does (a separate `run_sweep` per cell, nothing kept).
- **cached (cold)**: ours, from an empty disk cache: each encoder is embedded once on the full training split and
  every fraction and seed probes a subset of those embeddings.
- **cached (warm)**: ours again, the embeddings read from the disk cache a previous run left.

The encoder is the demo's short-chunk CNN architecture (weights do not change the cost); with `--encoder` any
exported encoder. Needs the built-in corpus (`ssl-mir synth --out data/synth --n 600 --seed 0`).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.probe import ProbeConfig
from ssl_mir.evaluation.sweep import Sweep, run_sweep
from ssl_mir.export import save_encoder

FRACTIONS = [0.01, 0.1, 1.0]
SEEDS = [0, 1, 2]


def timed(sweep: Sweep, data: LabeledDataModule, cache_dir: Path | None) -> float:
    start = time.perf_counter()
    run_sweep(sweep, data, accelerator="cpu", cache_dir=cache_dir, show_progress=False)
    return time.perf_counter() - start


def main() -> None:
    keep_freed_memory()  # as every ssl-mir command does (ssl_mir.allocator)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", default="data/synth/manifest.csv")
    parser.add_argument("--encoder", default=None, help="an exported encoder (default: the demo CNN architecture)")
    parser.add_argument("--task", default="instrument")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        encoder = args.encoder
        if encoder is None:
            encoder = str(Path(tmp) / "cnn")
            save_encoder(ShortChunkCNN(channels=[32, 32, 64, 64, 128, 128, 256]), encoder)
        data = LabeledDataModule(args.manifest, {args.task: "multiclass"}, chunk_samples=32768, num_workers=2)
        data.targets  # check and read the corpus once, outside every timing
        encoders = [encoder, "mfcc"]
        probe = ProbeConfig(seeds=SEEDS)
        uncached = sum(timed(Sweep(encoders, [f], [args.task], probe=ProbeConfig(seeds=[s])), data, None)
                       for f in FRACTIONS for s in SEEDS)
        sweep = Sweep(encoders, FRACTIONS, [args.task], probe=probe)
        cold = timed(sweep, data, Path(tmp) / "cache")
        warm = timed(sweep, data, Path(tmp) / "cache")
    cells = len(encoders) * len(FRACTIONS) * len(SEEDS)
    print(f"{cells} probes ({len(encoders)} encoders × {len(FRACTIONS)} fractions × {len(SEEDS)} seeds), "
          f"{len(data.splits['train'])} training clips")
    print(f"no cache        {uncached:7.1f} s")
    print(f"cached (cold)   {cold:7.1f} s   speed-up {uncached / cold:5.2f}×")
    print(f"cached (warm)   {warm:7.1f} s   speed-up {uncached / warm:5.2f}×")


if __name__ == "__main__":
    main()
