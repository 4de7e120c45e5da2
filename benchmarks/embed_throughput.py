"""`ssl-mir embed` as one process against two torchrun ranks (each a share of the files, one Parquet part each).

    .venv/bin/python benchmarks/embed_throughput.py --clips 200 --seconds 10

Writes `--clips` generated mono clips and an exported short-chunk CNN (the demo's size, random weights) to a
temporary folder, then times the whole command, start-up included, both ways: clips/s and the ratio. On a CPU the
ranks share its cores (each rank gets cores / ranks intra-op threads); on a GPU node each rank has its own GPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    from ssl_mir.encoders import ShortChunkCNN
    from ssl_mir.export import save_encoder

    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "audio"
        audio.mkdir()
        rng = np.random.default_rng(0)
        for i in range(args.clips):
            sf.write(audio / f"clip_{i:05d}.wav", (0.1 * rng.standard_normal(int(args.seconds * SR))).astype(np.float32),
                     SR, subtype="PCM_16")
        save_encoder(ShortChunkCNN(n_mels=96, channels=[32, 32, 64, 64, 128, 128, 256]), Path(tmp) / "enc")
        common = ["-m", "ssl_mir.cli", "embed", "--encoder", str(Path(tmp) / "enc"), "--data", str(audio),
                  "--format", "parquet", "--batch_size", "32"]
        cores = len(os.sched_getaffinity(0))
        runs = {"1 process": ([sys.executable, *common, "--out", str(Path(tmp) / "one")], {}),
                "2 ranks": ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             *common, "--out", str(Path(tmp) / "two")], {"OMP_NUM_THREADS": str(max(1, cores // 2))})}
        rates = {}
        for name, (command, env) in runs.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env={**os.environ, **env})
            rates[name] = args.clips / (time.perf_counter() - start)
            print(f"{name}: {rates[name]:.2f} clips/s ({args.clips} clips of {args.seconds:g} s, {cores} cores)")
        print(f"2 ranks / 1 process: {rates['2 ranks'] / rates['1 process']:.2f}")


if __name__ == "__main__":
    main()
