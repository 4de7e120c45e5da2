"""One attention call, forward and backward, on this CPU in bf16 and in fp32: torch's math backend, its flash kernel,
and what the blocks call (`encoders/transformer.py: attention`: written out in bf16, torch's choice in fp32), in one
run.

    .venv/bin/python benchmarks/attention.py

Shapes (B, H, N, d) are those of the default configs at batch 64: MAE's decoder over all 128 patches, an encoder over
all of them (BEST-RQ, MAE at mask 0), and MAE's encoder over the visible quarter.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.encoders.transformer import attention

SHAPES = {"MAE's decoder": (64, 4, 128, 32), "an encoder over every patch": (64, 3, 128, 64),
          "MAE's encoder, visible quarter": (64, 3, 32, 64)}


def on_backend(backend: SDPBackend) -> Callable[..., torch.Tensor]:
    def call(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(q, k, v)
    return call


def milliseconds(fn: Callable[..., torch.Tensor], shape: tuple[int, ...], dtype: torch.dtype,
                 repeats: int = 20) -> float:
    """Mean time of forward and backward, after 3 untimed calls."""
    q, k, v = (torch.randn(*shape, dtype=dtype, requires_grad=True) for _ in range(3))
    for _ in range(3):
        fn(q, k, v).sum().backward()
    start = time.perf_counter()
    for _ in range(repeats):
        fn(q, k, v).sum().backward()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    keep_freed_memory()  # as every ssl-mir command does (ssl_mir.allocator)
    paths = {"math backend": on_backend(SDPBackend.MATH), "flash kernel": on_backend(SDPBackend.FLASH_ATTENTION),
             "ours": lambda q, k, v: attention(q, k, v, 0.0)}
    print(f"forward + backward, {torch.get_num_threads()} threads, ms per call")
    for dtype in (torch.bfloat16, torch.float32):
        for name, shape in SHAPES.items():
            times = {path: milliseconds(fn, shape, dtype) for path, fn in paths.items()}
            cells = "  ".join(f"{path} {ms:6.2f}" for path, ms in times.items())
            print(f"{str(dtype)[6:]:9s} {name:31s} {str(shape):17s} {cells}  ours "
                  f"{times['math backend'] / times['ours']:.2f}x faster than math")

if __name__ == "__main__":
    main()
