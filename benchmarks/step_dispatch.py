"""What one training step of each default pre-training config asks of an accelerator, counted without one: the
kernels it launches and the values it reads back to the host, where on a GPU the host stops queueing work until the
device has caught up (a sync). The full step of issue 16 loses time against the model-only step wherever it waits.

    .venv/bin/python benchmarks/step_dispatch.py                                  # every config in configs/pretrain
    .venv/bin/python benchmarks/step_dispatch.py --configs mae_transformer m2d_transformer --batch 8

The step is the module's `training_step` and the backward pass (no optimiser: its kernels are the same in the full and
the model-only step), on a batch of the config's shape. Read-backs are counted on the CPU, where every tensor of the
step stands for a device tensor (`device_work.ReadBacks`); kernels on "meta" (`device_work.CountKernels`), where a
read-back cannot run at all, so a step that reads one names the operator instead. No autocast on "meta".
"""

from __future__ import annotations

import argparse
import collections
import copy
import warnings
from pathlib import Path

import torch
from device_work import CountKernels, ReadBacks
from stepping import configured, random_views

from ssl_mir.pretext import PretextModule

warnings.filterwarnings("ignore", message=".*self.trainer.*")  # self.log outside a Trainer


def one_step(model: PretextModule, data: dict[str, torch.Tensor]) -> None:
    model.training_step(data, 0).backward()


def meta_counts(model: PretextModule, data: dict[str, torch.Tensor]) -> collections.Counter[str]:
    """Kernels, views and host → device copies of the second step on "meta" (the first makes what is kept between
    steps, such as the transformers' position tables). Raises where the step needs a value from the device."""
    model.to("meta")
    views = {"views": torch.empty_like(data["views"], device="meta")}
    one_step(model, views)
    model.zero_grad(set_to_none=True)
    with CountKernels() as mode:
        try:
            one_step(model, views)
        except (RuntimeError, NotImplementedError) as error:
            raise RuntimeError(f"the step needs a value from the device at {mode.last}: {error}") from error
    del mode.counts["host operators"]
    return mode.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=sorted(p.stem for p in Path("configs/pretrain").glob("*.yaml")))
    parser.add_argument("--batch", type=int, default=8, help="clips per step (the counts do not depend on it)")
    args = parser.parse_args()
    for config in args.configs:
        cli = configured(["-c", "configs/data/synthetic.yaml", "-c", f"configs/pretrain/{config}.yaml"])
        model, data = cli.model.train(), cli.datamodule
        views = random_views(args.batch, data.n_views, data.crop_samples, torch.device("cpu"))
        torch.manual_seed(0)
        with ReadBacks() as reads:
            one_step(copy.deepcopy(model), views)  # a copy: BYOL-A's mixup keeps a memory of the batches it saw
        total = sum(reads.places.values())
        print(f"{config}: {total} read-backs per step" + "".join(f"\n    {n} {p}" for p, n in reads.places.items()))
        try:
            print("    " + ", ".join(f"{key} {value}" for key, value in sorted(meta_counts(model, views).items())))
        except RuntimeError as error:
            print(f"    cannot run on meta: {str(error).splitlines()[0]}")


if __name__ == "__main__":
    main()
