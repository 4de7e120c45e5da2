"""Model FLOP utilisation: this machine's matrix-product peak, then each default pre-training config's training
FLOP/s as a fraction of it, in one run.

    .venv/bin/python benchmarks/mfu.py [--device cuda] [--precision bf16|32] [--configs simclr_cnn2d mae_transformer]

The peak is the best of a few large square matrix products (all threads on a CPU) in the step's precision. A config's
step is the model-only step of `stepping.py` (forward, backward and AdamW update on in-memory views shaped as the
config's loader gives them, `configs/data/synthetic.yaml` for what the config leaves open); its FLOPs are counted by
`torch.utils.flop_counter` (matrix products and convolutions, forward and backward). MFU = counted FLOPs / step
time / peak.
"""

from __future__ import annotations

import argparse
import time

import torch
from stepping import configured, flops_per_step, random_views, seconds_per_step, sync

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.data.datamodules import PretrainDataModule
from ssl_mir.pretext.base import PretextModule

DEFAULTS = ("simclr_cnn2d", "simclr_samplecnn", "cola_cnn2d", "byola_crnn", "mae_transformer", "bestrq_transformer",
            "m2d_transformer")


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, repeats: int = 5) -> float:
    """FLOP/s of the fastest of `repeats` (size × size) @ (size × size) products, after one warm-up."""
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    best = float("inf")
    for index in range(repeats + 1):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        if index:
            best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def build(config: str, overrides: list[str]) -> tuple[PretextModule, PretrainDataModule]:
    cli = configured(["-c", "configs/trainer/cpu.yaml", "-c", "configs/data/synthetic.yaml", "-c",
                      f"configs/pretrain/{config}.yaml", *overrides])
    return cli.model, cli.datamodule


def main() -> None:
    keep_freed_memory()  # as every ssl-mir command does (ssl_mir.allocator)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--precision", choices=["bf16", "32"], default="bf16")
    parser.add_argument("--configs", nargs="+", default=list(DEFAULTS))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--peak_size", type=int, default=0, help="matrix size for the peak (0: 2048 CPU, 8192 GPU)")
    args, overrides = parser.parse_known_args()
    device, bf16 = torch.device(args.device), args.precision == "bf16"
    size = args.peak_size or (8192 if device.type == "cuda" else 2048)
    peak = matmul_peak(device, torch.bfloat16 if bf16 else torch.float32, size)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"{name}: {args.precision} matrix-product peak {peak / 1e12:.2f} TFLOP/s ({size}^3)")
    print(f"{'config':<20} {'batch':>14} {'GFLOP/step':>11} {'s/step':>8} {'clips/s':>8} {'TFLOP/s':>8} {'MFU':>6}")
    for config in args.configs:
        model, data = build(config, overrides)
        views = random_views(data.batch_size, data.n_views, data.crop_samples, device)
        flops = flops_per_step(model, views, bf16)
        seconds = seconds_per_step(model, views, args.steps, bf16)
        shape = f"{data.batch_size}x{data.n_views}x{data.crop_samples}"
        print(f"{config:<20} {shape:>14} {flops / 1e9:11.1f} {seconds:8.3f} {data.batch_size / seconds:8.1f} "
              f"{flops / seconds / 1e12:8.3f} {flops / seconds / peak:6.1%}", flush=True)


if __name__ == "__main__":
    main()
