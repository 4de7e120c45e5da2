"""Masked-prediction training steps: MAE at mask ratio 0.75 against 0.0 (what skipping masked patches in the encoder
saves), and BEST-RQ clips/s, in one run.

    .venv/bin/python benchmarks/masked_throughput.py

The models are those of configs/pretrain/mae_transformer.yaml and bestrq_transformer.yaml; a step is forward,
backward and AdamW update on a batch of in-memory 2.05 s clips (the model-only step), under the precision of
configs/trainer/cpu.yaml (bf16 autocast) unless `--precision 32`.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import torch
import yaml

from ssl_mir.export import build_encoder
from ssl_mir.pretext import MAE, BestRQ, PretextModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "pretrain"


def method(config: str, cls: type[PretextModule], **overrides: object) -> PretextModule:
    init = yaml.safe_load((CONFIGS / config).read_text())["model"]["init_args"]
    encoder = build_encoder(init.pop("encoder"))
    kwargs = {k: v for k, v in init.items() if k not in ("optimizer", "scheduler")}
    return cls(encoder, **{**kwargs, **overrides})


def seconds_per_step(model: PretextModule, batch: int, samples: int, steps: int, bf16: bool) -> float:
    torch.manual_seed(0)
    data = {"views": 0.1 * torch.randn(batch, 1, samples)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for step in range(steps + 2):  # two warm-up steps
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model.training_step(data, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return sum(times[2:]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=32768)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precision", choices=["bf16", "32"], default="bf16")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*self.trainer.*")  # self.log outside a Trainer
    bf16 = args.precision == "bf16"
    masked = seconds_per_step(method("mae_transformer.yaml", MAE), args.batch, args.samples, args.steps, bf16)
    full = seconds_per_step(method("mae_transformer.yaml", MAE, mask_ratio=0.0), args.batch, args.samples, args.steps,
                            bf16)
    bestrq = seconds_per_step(method("bestrq_transformer.yaml", BestRQ), args.batch, args.samples, args.steps, bf16)
    print(f"batch {args.batch} × {args.samples} samples, {args.precision}, {args.steps} steps each")
    print(f"MAE mask 0.75  {masked:6.3f} s/step  {args.batch / masked:7.1f} clips/s")
    print(f"MAE mask 0.0   {full:6.3f} s/step  {args.batch / full:7.1f} clips/s   0.75 is {full / masked:.2f}× faster")
    print(f"BEST-RQ        {bestrq:6.3f} s/step  {args.batch / bestrq:7.1f} clips/s")


if __name__ == "__main__":
    main()
