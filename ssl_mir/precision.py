"""bf16 autocast on a CPU only where the CPU computes bf16 natively.

oneDNN runs bf16 convolutions and matmuls in hardware on CPUs with AVX-512 BF16 or AMX, and emulates them on the
others. The same pre-training step measured 1.56× faster in bf16 than in fp32 on an Intel Xeon with native bf16, and
8.5× slower on an AVX2-only AMD EPYC (benchmarks/RESULTS.md, "bf16 on a CPU without native bf16"). So a bf16 precision
asked of a CPU without it runs in fp32, with a warning; a GPU's precision is never changed.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)
BF16 = ("bf16-mixed", "bf16-true", "bf16")


def native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (oneDNN's own test)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_precision(accelerator: str, precision: str | int | None) -> str | int | None:
    """`precision`, or "32-true" where it is bf16 on a CPU (`accelerator` "cpu", or "auto" without CUDA) that has no
    native bf16."""
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    if str(precision) not in BF16 or not on_cpu or native_bf16():
        return precision
    log.warning("precision %s asked on a CPU without native bf16 (%s): bf16 would be emulated, several times slower "
                "than fp32; training in 32-true instead", precision, torch.backends.cpu.get_cpu_capability())
    return "32-true"
