"""What the batched augmentation chain asks of the device: the two paths of `BatchAugment` (only the chosen rows,
gathered and scattered, against every row with `torch.where`, the accelerators' default) on the same batches and
seeds, in one run.

    .venv/bin/python benchmarks/augment_dispatch.py                          # counts, and times on this CPU
    .venv/bin/python benchmarks/augment_dispatch.py --device cuda            # counts, and times on the GPU

Counts come from running the chain on the "meta" device, which holds shapes but no values: every operator on the
batch that is not a view is a kernel an accelerator launches, and a copy from the host made with waiting
(`non_blocking=False`) is a sync there. A value read back from the device (a sync) cannot run on "meta": the
counts then name the operator instead. Times are per batch, median of `--repeats`, the paths interleaved; on CUDA
torch's sync debug mode also counts each path's syncs.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time

import torch
import yaml
from cuda_syncs import synchronizations
from device_work import CountKernels

from ssl_mir.augment.batch import BatchAugment
from ssl_mir.augment.vocabulary import parse

PATHS = {"chosen rows": False, "masked": True}


def counts(chain: BatchAugment, batch: int, samples: int, batches: int) -> str:
    """Per batch, averaged over `batches` draws; or the first operator that needs a value from the device."""
    total: collections.Counter[str] = collections.Counter()
    torch.manual_seed(0)
    for _ in range(batches):
        with CountKernels() as mode:
            try:
                chain(torch.empty(batch, samples, device="meta"))
            except (RuntimeError, NotImplementedError):
                return f"reads a value back from the device at {mode.last} (a sync there), so it cannot be counted here"
        total.update(mode.counts)
    return ", ".join(f"{key} {value / batches:.1f}" for key, value in sorted(total.items()))


def cuda_syncs(chain: BatchAugment, x: torch.Tensor) -> int:
    """The chain's synchronizing CUDA calls on one batch, as torch's sync debug mode reports them."""
    with synchronizations() as places:
        chain(x)
    return sum(places.values())


def seconds(chain: BatchAugment, x: torch.Tensor) -> float:
    start = time.perf_counter()
    chain(x)
    if x.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/data/synthetic.yaml", help="a data config with data.augment")
    parser.add_argument("--batch", type=int, default=128, help="views per batch (64 clips x 2 views in the demo)")
    parser.add_argument("--samples", type=int, nargs="+", default=[1024, 32768],
                        help="view lengths to time; short views show the cost of launching kernels")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    data = yaml.safe_load(open(args.config))["data"]
    entries, sr = data["augment"]["transforms"], data["sample_rate"]
    chains = {name: BatchAugment(parse(entries), sr, masked=masked) for name, masked in PATHS.items()}
    print(f"config {args.config}: {[e['name'] for e in entries]}, batch {args.batch}, device {args.device}")
    for name, chain in chains.items():
        print(f"{name}: per batch, {counts(chain, args.batch, max(args.samples), 20)}")
    for samples in args.samples:
        x = 0.1 * torch.randn(args.batch, samples, device=args.device)
        times: dict[str, list[float]] = {name: [] for name in chains}
        for chain in chains.values():
            seconds(chain, x)  # warm-up
        for _ in range(args.repeats):
            for name, chain in chains.items():
                times[name].append(seconds(chain, x))
        median = {name: statistics.median(t) for name, t in times.items()}
        if x.device.type == "cuda":
            print(f"{samples} samples: syncs per batch " +
                  ", ".join(f"{name} {cuda_syncs(chain, x)}" for name, chain in chains.items()))
        print(f"{samples} samples: " + ", ".join(f"{name} {1e3 * m:.2f} ms" for name, m in median.items()) +
              f"; chosen rows / masked {median['chosen rows'] / median['masked']:.2f}x")


if __name__ == "__main__":
    main()
