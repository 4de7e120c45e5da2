"""Masked-prediction training steps: MAE at mask ratio 0.75 against 0.0 (what skipping masked patches in the encoder
saves), at the config's `predict_ratio` (the decoder asked for half the masked patches) and with every masked patch
predicted, and BEST-RQ clips/s, in one run.

    .venv/bin/python benchmarks/masked_throughput.py [--device cuda]

The models are those of configs/pretrain/mae_transformer.yaml and bestrq_transformer.yaml; a step is forward,
backward and AdamW update on a batch of in-memory 2.05 s clips (the model-only step), under the precision of
configs/trainer/cpu.yaml (bf16 autocast) unless `--precision 32`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import yaml
from stepping import random_views, seconds_per_step

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.export import build_encoder
from ssl_mir.pretext import MAE, BestRQ, PretextModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "pretrain"


def method(config: str, cls: type[PretextModule], **overrides: object) -> PretextModule:
    init = yaml.safe_load((CONFIGS / config).read_text())["model"]["init_args"]
    encoder = build_encoder(init.pop("encoder"))
    kwargs = {k: v for k, v in init.items() if k not in ("optimizer", "scheduler")}
    return cls(encoder, **{**kwargs, **overrides})


def main() -> None:
    keep_freed_memory()  # as every ssl-mir command does (ssl_mir.allocator)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=32768)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--precision", choices=["bf16", "32"], default="bf16")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    bf16, data = args.precision == "bf16", random_views(args.batch, 1, args.samples, torch.device(args.device))
    masked = seconds_per_step(method("mae_transformer.yaml", MAE), data, args.steps, bf16)
    every = seconds_per_step(method("mae_transformer.yaml", MAE, predict_ratio=1.0), data, args.steps, bf16)
    full = seconds_per_step(method("mae_transformer.yaml", MAE, mask_ratio=0.0), data, args.steps, bf16)
    bestrq = seconds_per_step(method("bestrq_transformer.yaml", BestRQ), data, args.steps, bf16)
    print(f"batch {args.batch} × {args.samples} samples, {args.precision}, {args.steps} steps each, on {args.device}")
    print(f"MAE mask 0.0                 {full:6.3f} s/step  {args.batch / full:7.1f} clips/s")
    print(f"MAE mask 0.75, the config    {masked:6.3f} s/step  {args.batch / masked:7.1f} clips/s   "
          f"{full / masked:.2f}× faster than mask 0")
    print(f"MAE mask 0.75, predict all   {every:6.3f} s/step  {args.batch / every:7.1f} clips/s   "
          f"{full / every:.2f}× faster than mask 0")
    print(f"BEST-RQ                      {bestrq:6.3f} s/step  {args.batch / bestrq:7.1f} clips/s")


if __name__ == "__main__":
    main()
