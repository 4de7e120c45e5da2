"""ChromaNet's convolutions under bf16 autocast against fp32 on this CPU: why `ChromaNet.feature_maps` runs in fp32.

One forward and backward pass of STONE's configured ChromaNet on 3 × batch CQT crops (the three views of a step),
the front end excluded, each precision timed over a few repeats after a warm-up; prints seconds and the ratio.

    python benchmarks/chromanet_precision.py --batch 32 --seconds 4.1
"""

from __future__ import annotations

import argparse
import time

import torch

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.encoders import ChromaNet


def step_seconds(net: torch.nn.Module, crops: torch.Tensor, bf16: bool, repeats: int) -> float:
    """Median seconds of one forward and backward pass of the network's convolutions, with or without autocast."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            x = net.input_bn(crops)
            for block in net.blocks:
                x = block(x)
            loss = net.classifier(x).float().square().mean()
        loss.backward()
        if i:  # the first pass builds oneDNN's kernels
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keep_freed_memory()
    torch.manual_seed(0)
    net = ChromaNet(hop_length=512, channels=[16, 32, 32, 32, 16], kernel=(7, 5), time_pools=[2, 2, 1, 1, 1])
    frames = int(args.seconds * 16000) // 512 + 1
    crops = torch.randn(3 * args.batch, 1, net.n_bins, frames)
    fp32 = step_seconds(net, crops, False, args.repeats)
    bf16 = step_seconds(net, crops, True, args.repeats)
    print(f"{3 * args.batch} crops of {net.n_bins} bins x {frames} frames: fp32 {fp32:.2f} s, bf16 autocast "
          f"{bf16:.2f} s, bf16 / fp32 = {bf16 / fp32:.1f}")


if __name__ == "__main__":
    main()
