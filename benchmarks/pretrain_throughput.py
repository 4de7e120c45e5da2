"""Pre-training throughput: the full SimCLR step (decode, crop, CLMR augmentations, model) against the model-only
step on in-memory tensors of the same shape, in one run, and the model step under fp32 and bf16 autocast.

    .venv/bin/python benchmarks/pretrain_throughput.py --steps 24 --num_workers 2 [--data.decoded_cache DIR ...]
    .venv/bin/python benchmarks/pretrain_throughput.py --trainer configs/trainer/gpu_bf16.yaml ...   # on a GPU

Any other argument is passed to the CLI (e.g. `-c configs/augment/clmr.yaml`, `--data.augment.backend cpu`). Needs the built-in corpus (`ssl-mir synth --out data/synth --n 600 --seed 0`).
"""

from __future__ import annotations

import argparse
import time

import pytorch_lightning as pl
import torch
from stepping import configured
from torch.utils.data import DataLoader, Dataset

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.pretext.base import PretextModule

# Steps left out of the timing: start-up, and the batches the workers prefetched (2 workers × prefetch 2) before
# the first step, which would otherwise make the full step look faster than its steady state.
WARMUP = 6


class StepTimer(pl.Callback):
    """Wall time of the training batches after `warmup` batches. On a GPU it waits for the device only where the
    timed stretch starts and ends, as training does not: the host queues the next step while the device runs."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.stamps = warmup, []

    def stamp(self, pl_module: pl.LightningModule, wait: bool) -> None:
        if wait and pl_module.device.type == "cuda":
            torch.cuda.synchronize(pl_module.device)
        self.stamps.append(time.perf_counter())

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.stamp(pl_module, wait=len(self.stamps) == self.warmup)

    def on_train_end(self, trainer, pl_module) -> None:
        self.stamp(pl_module, wait=True)

    def seconds_per_step(self) -> float:
        s = self.stamps[self.warmup:]
        return (s[-1] - s[0]) / (len(s) - 1)


class InMemoryViews(Dataset):
    """The same batch shape as the real loader, from memory: no decoding, no augmentation."""

    def __init__(self, n: int, n_views: int, samples: int) -> None:
        self.views = torch.randn(n_views, samples) * 0.1  # (V, S)
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"views": self.views}


def seconds_per_step(model: PretextModule, precision: str, steps: int, accelerator: str,
                     train: DataLoader | None = None, datamodule: pl.LightningDataModule | None = None) -> float:
    timer = StepTimer(warmup=WARMUP)
    trainer = pl.Trainer(accelerator=accelerator, devices=1, precision=precision, max_steps=steps + WARMUP, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[timer])
    trainer.fit(model, train_dataloaders=train, datamodule=datamodule)
    return timer.seconds_per_step()


def main() -> None:
    keep_freed_memory()  # as every ssl-mir command does (ssl_mir.allocator)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/pretrain/simclr_cnn2d.yaml")
    parser.add_argument("--trainer", default="configs/trainer/cpu.yaml")
    parser.add_argument("--data", default="configs/data/synthetic.yaml")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--num_workers", type=int, default=2)
    args, overrides = parser.parse_known_args()
    cli = configured(["-c", args.trainer, "-c", args.data, "-c", args.config, "--data.num_workers",
                      str(args.num_workers), *overrides])
    model, data, precision = cli.model, cli.datamodule, str(cli.trainer.precision)
    batch, accelerator = data.batch_size, "gpu" if cli.trainer.strategy.root_device.type == "cuda" else "cpu"

    full = seconds_per_step(model, precision, args.steps, accelerator, datamodule=data)
    memory = DataLoader(InMemoryViews(batch * (args.steps + WARMUP + 1), data.n_views, data.crop_samples), batch_size=batch)
    only = {p: seconds_per_step(model, p, args.steps, accelerator, train=memory) for p in ("32-true", "bf16-mixed")}
    augment = "none" if data.augment is None else (f"{len(data.transforms)} transforms on the {data.augment.backend} "
                                                   f"backend: {', '.join(t.name for t in data.transforms)}")
    print(f"config: {args.config}  batch {batch} x {data.n_views} views x {data.crop_samples} samples, "
          f"precision {precision}, on {accelerator}, {args.num_workers} worker(s), "
          f"{torch.get_num_threads()} torch threads, "
          f"decoded cache {data.decoded_cache}{' (crops cut on the device)' if data.device_crops else ''}, "
          f"augmentation {augment}")
    print(f"full step      : {batch / full:7.1f} clips/s  ({full:.2f} s/step)")
    print(f"model-only step: {batch / only[precision]:7.1f} clips/s  ({only[precision]:.2f} s/step)")
    print(f"ratio full / model-only throughput: {only[precision] / full:.2f}")
    print(f"model step fp32 {only['32-true']:.2f} s, bf16 {only['bf16-mixed']:.2f} s: "
          f"bf16 speed-up {only['32-true'] / only['bf16-mixed']:.2f}x")


if __name__ == "__main__":
    main()
