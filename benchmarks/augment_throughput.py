"""Augmentation throughput: one transform list run per clip with audiomentations in dataloader workers (the
per-sample path CLMR uses) against the same list on whole batches with torch (the device path), in one run, on the
same clips and the same CPU budget (`--workers` processes against `--workers` torch threads).

    .venv/bin/python benchmarks/augment_throughput.py --config configs/data/synthetic.yaml --clips 512

Prints clips/s both ways, their ratio, and each transform's own ratio at p = 1.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import yaml
from torch.utils.data import DataLoader, Dataset

from ssl_mir.augment.batch import BatchAugment
from ssl_mir.augment.vocabulary import parse
from ssl_mir.augment.waveform import CpuAugment


class AugmentedClips(Dataset):
    """In-memory clips augmented per item, as CropDataset does after reading: no decoding is timed."""

    def __init__(self, clips: torch.Tensor, chain: CpuAugment, sample_rate: int) -> None:
        self.clips, self.chain, self.sample_rate = clips, chain, sample_rate

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.chain.apply(self.clips[i], self.sample_rate)


def per_sample(entries: list[dict[str, Any]], clips: torch.Tensor, sr: int, batch: int, workers: int) -> float:
    loader = DataLoader(AugmentedClips(clips, CpuAugment(parse(entries)), sr), batch_size=batch,
                        num_workers=workers, persistent_workers=workers > 0)
    next(iter(loader))  # start the workers
    start = time.perf_counter()
    n = sum(len(b) for b in loader)
    return n / (time.perf_counter() - start)


def batched(entries: list[dict[str, Any]], clips: torch.Tensor, sr: int, batch: int) -> float:
    chain = BatchAugment(parse(entries), sr)
    chain(clips[:batch])  # warm-up
    start = time.perf_counter()
    for i in range(0, len(clips), batch):
        chain(clips[i:i + batch])
    return len(clips) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/data/synthetic.yaml", help="a data config with data.augment")
    parser.add_argument("--clips", type=int, default=512)
    parser.add_argument("--batch", type=int, default=128, help="clips per batch (64 clips x 2 views in the demo)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per_transform", action="store_true", help="also time each transform alone at p = 1")
    args = parser.parse_args()
    data = yaml.safe_load(open(args.config))["data"]
    sr, samples, entries = data["sample_rate"], data["crop_samples"], data["augment"]["transforms"]
    torch.set_num_threads(args.workers)
    torch.manual_seed(0)
    clips = 0.1 * torch.randn(args.clips, samples)

    rows = [("whole chain", entries)]
    if args.per_transform:
        rows += [(e["name"], [{**e, "p": 1.0}]) for e in entries]
    print(f"{args.config}: {args.clips} clips of {samples} samples at {sr} Hz, batches of {args.batch}, "
          f"{args.workers} worker process(es) vs {args.workers} torch thread(s)")
    for name, chain in rows:
        ours, theirs = batched(chain, clips, sr, args.batch), per_sample(chain, clips, sr, args.batch, args.workers)
        print(f"{name:12s}: per-sample {theirs:8.1f} clips/s, batched {ours:8.1f} clips/s, ratio {ours / theirs:5.2f}")


if __name__ == "__main__":
    main()
