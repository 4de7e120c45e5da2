"""ssl_mir against CLMR's recipe on CLMR's workload, in one process, interleaved: SimCLR on SampleCNN over 59049
samples at 22.05 kHz, batch 32 × 2 views, CLMR's augmentation chain with its probabilities, built-in corpus.

    .venv/bin/python benchmarks/vs_clmr.py [--runs 3] [--steps 8] [--ours "--model.init_args.compile true"]

- **CLMR's recipe** (Spijkervet & Burgoyne 2021; its code trains with PyTorch Lightning too): fp32; the chain per clip
  in the DataLoader workers (`augment.backend: cpu`, audiomentations: CLMR's own sox-based pitch shift and reverb,
  from torchaudio-augmentations, no longer run on torchaudio 2.x); Adam at 3e-4; a projector of 512 → 512 → 64;
  NT-Xent at τ = 0.5.
- **ours**: the defaults, `configs/trainer/cpu.yaml` + `configs/data/synthetic.yaml` +
  `configs/pretrain/simclr_samplecnn.yaml` (bf16 autocast, the chain on whole batches after transfer) and the
  allocator setting every `ssl-mir` command applies (`ssl_mir.allocator`), plus `--ours`.

Both decode, resample and crop the same files in the same number of workers. Each run is a Trainer fit timed
between batch starts after the warm-up (`pretrain_throughput.StepTimer`), in a process of its own, since the
allocator setting holds for a whole process; runs alternate ours, CLMR, ours, CLMR, … and the ratio is the median
of ours over the median of CLMR's. Needs `ssl-mir synth --out data/synth --n 600 --seed 0`.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys

import torch
from pretrain_throughput import seconds_per_step
from stepping import configured

from ssl_mir.allocator import keep_freed_memory

WORKLOAD = ["-c", "configs/trainer/cpu.yaml", "-c", "configs/data/synthetic.yaml", "-c",
            "configs/pretrain/simclr_samplecnn.yaml", "--data.batch_size", "32"]
CLMR = ["--trainer.precision", "32-true", "--data.augment.backend", "cpu", "--model.init_args.projection_dim", "64"]


def clips_per_second(arguments: list[str], steps: int, workers: int) -> float:
    """One Trainer fit of the configuration: clips per second in its steady state."""
    cli = configured([*WORKLOAD, "--data.num_workers", str(workers), *arguments])
    model, data = cli.model, cli.datamodule
    seconds = seconds_per_step(model, str(cli.trainer.precision), steps, "cpu", datamodule=data)
    return data.batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each recipe, interleaved")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per run, after the warm-up")
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--ours", default="", help="extra CLI arguments for our side (a lever under test)")
    parser.add_argument("--child", choices=["ours", "clmr"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "ours":
        keep_freed_memory()
    if args.child:
        recipe = shlex.split(args.ours) if args.child == "ours" else CLMR
        print(clips_per_second(recipe, args.steps, args.num_workers))
        return

    def run_child(recipe: str) -> float:
        out = subprocess.run([sys.executable, __file__, "--child", recipe, "--steps", str(args.steps), "--num_workers",
                              str(args.num_workers), "--ours", args.ours], check=True, capture_output=True, text=True)
        return float(out.stdout.split()[-1])

    ours, clmr = [], []
    for run in range(args.runs):
        ours.append(run_child("ours"))
        clmr.append(run_child("clmr"))
        print(f"run {run + 1}: ours {ours[-1]:.2f} clips/s, CLMR's recipe {clmr[-1]:.2f} clips/s", flush=True)
    print(f"SampleCNN, batch 32 x 2 views x 59049 samples at 22050 Hz, {args.num_workers} workers, "
          f"{torch.get_num_threads()} torch threads; ours: defaults {args.ours}")
    print(f"ours          : {', '.join(f'{c:.2f}' for c in ours)} clips/s (median {statistics.median(ours):.2f})")
    print(f"CLMR's recipe : {', '.join(f'{c:.2f}' for c in clmr)} clips/s (median {statistics.median(clmr):.2f})")
    print(f"ratio ours / CLMR (medians): {statistics.median(ours) / statistics.median(clmr):.2f}")


if __name__ == "__main__":
    main()
