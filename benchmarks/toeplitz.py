"""PitchNet's Toeplitz layer as one gathered matrix product against the same map as a 1-D convolution with a kernel
as long as both axes (PESTO's reference form), forward and backward on a step's frames, in one run: the ratio is the
figure in `encoders/pitchnet.py`'s docstring.

    python benchmarks/toeplitz.py
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from ssl_mir.encoders.pitchnet import ToeplitzLinear


def timed(step, repeats: int = 10) -> float:
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.manual_seed(0)
    frames, bins, channels, out = 768, 256, 3, 384  # a step: 32 clips x 8 frames x 3 views
    layer = ToeplitzLinear(channels, bins, out)
    maps = torch.randn(frames, bins, channels, requires_grad=True)
    kernel = layer.kernel.detach().clone().requires_grad_()

    def as_matmul() -> None:
        layer(maps).sum().backward()

    def as_convolution() -> None:  # out[j] = sum_i x[i] w[i - j + out - 1]: a correlation over the padded input
        F.conv1d(maps.transpose(1, 2), kernel[None], padding=out - 1).sum().backward()

    with torch.no_grad():
        same = F.conv1d(maps.transpose(1, 2), kernel[None], padding=out - 1)[:, 0]
        assert torch.allclose(same, layer(maps), atol=1e-4), "the two forms differ"
    matmul, conv = timed(as_matmul), timed(as_convolution)
    print(f"threads {torch.get_num_threads()}: matrix product {matmul * 1e3:.1f} ms, convolution {conv * 1e3:.1f} ms "
          f"per forward and backward of {frames} frames: {conv / matmul:.1f}x")


if __name__ == "__main__":
    main()
