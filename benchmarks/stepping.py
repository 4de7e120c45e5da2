"""The model-only training step that several benchmarks time: forward, backward and AdamW update of a pre-training
method on a batch of in-memory views, outside a Trainer, on a CPU or a CUDA device, under bf16 autocast or fp32."""

from __future__ import annotations

import sys
import tempfile
import time
import warnings

import torch
from torch.utils.flop_counter import FlopCounterMode

from ssl_mir.data.datamodules import PretrainDataModule
from ssl_mir.pretext import PretextModule
from ssl_mir.training_cli import SslMirCLI

warnings.filterwarnings("ignore", message=".*self.trainer.*")  # self.log outside a Trainer


def configured(args: list[str]) -> SslMirCLI:
    """`ssl-mir pretrain`'s configuration of `args` (configs and overrides), not run: model, data module and trainer,
    with no logger, no checkpoints and a temporary root folder."""
    sys.argv = sys.argv[:1]  # LightningCLI gets its arguments through `args`
    return SslMirCLI(PretextModule, PretrainDataModule, subclass_mode_model=True, run=False, args=[
        *args, "--trainer.logger", "false", "--trainer.enable_checkpointing", "false",
        "--trainer.default_root_dir", tempfile.mkdtemp(prefix="benchmark-")])


def random_views(batch: int, n_views: int, samples: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A batch shaped like the loader's, of noise at -20 dBFS: {"views": (B, V, S)}."""
    generator = torch.Generator().manual_seed(0)
    return {"views": (0.1 * torch.randn(batch, n_views, samples, generator=generator)).to(device)}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step(model: PretextModule, data: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, index: int,
         bf16: bool) -> None:
    device = data["views"].device
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        loss = model.training_step(data, index)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def seconds_per_step(model: PretextModule, data: dict[str, torch.Tensor], steps: int, bf16: bool,
                     warmup: int = 2) -> float:
    """Mean wall time of `steps` training steps after `warmup` untimed ones (the device synchronised around them)."""
    device = data["views"].device
    model.to(device).train()
    model.on_fit_start()  # what a Trainer does first (channels-last weights, ssl_mir.memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for index in range(warmup):
        step(model, data, optimizer, index, bf16)
    sync(device)
    start = time.perf_counter()
    for index in range(steps):
        step(model, data, optimizer, warmup + index, bf16)
    sync(device)
    return (time.perf_counter() - start) / steps


def flops_per_step(model: PretextModule, data: dict[str, torch.Tensor], bf16: bool) -> int:
    """FLOPs of one forward and backward pass, as `torch.utils.flop_counter` counts them (matrix products and
    convolutions, 2 per multiply-add; element-wise work is not counted)."""
    model.to(data["views"].device).train()
    counter = FlopCounterMode(display=False)
    with counter, torch.autocast(data["views"].device.type, dtype=torch.bfloat16, enabled=bf16):
        model.training_step(data, 0).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()
