"""The base of every waveform augmentation and the parameter draws they share (see `augment.vocabulary`)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from audiomentations.core.transforms_interface import BaseWaveformTransform

Params = dict[str, torch.Tensor]

# On a CPU, transforms run on chunks of rows whose working set (`Transform.row_bytes`) is about this many bytes: their
# temporaries then stay small enough to be reused from the allocator's free lists and the cache, instead of being
# mapped and page-faulted in afresh on every call (CLMR's chain 8 % faster for a batch of 128, and the vocoder 1.6x,
# on the project's 2-core machine). An accelerator takes the whole batch.
CPU_CHUNK_BYTES = 2 << 20


def uniform(n: int, low: float, high: float) -> torch.Tensor:
    """n draws from U(low, high) on the CPU generator (seeded by the run)."""
    return low + (high - low) * torch.rand(n, dtype=torch.float64)


def mel(hz: float) -> float:
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_uniform(n: int, low_hz: float, high_hz: float) -> torch.Tensor:
    """Frequencies uniform on the mel scale, as audiomentations draws filter cut-offs."""
    return 700.0 * (10.0 ** (uniform(n, mel(low_hz), mel(high_hz)) / 2595.0) - 1.0)


def orders(n: int, min_rolloff: int, max_rolloff: int) -> torch.Tensor:
    """Butterworth orders for n clips: roll-off a uniform multiple of 6 dB/octave, order = roll-off / 6."""
    return torch.randint(min_rolloff // 6, max_rolloff // 6 + 1, (n,)).double()


def on_device(params: Params, device: torch.device) -> Params:
    """The parameters on `device`, copied without waiting: a plain host-to-device copy also waits until the device
    has run everything queued before it (a sync), which would stall the host between the chain's kernels."""
    return {key: value.to(device, non_blocking=True) for key, value in params.items()}


def chunk_rows(n: int, row_bytes: int, budget: int, device: torch.device) -> int:
    """Rows per chunk when n rows of `row_bytes` each go through in chunks of at most `budget` bytes, balanced
    across the chunks, on a CPU; all n elsewhere (an accelerator wants the whole batch at once)."""
    if device.type != "cpu" or n * row_bytes <= budget:
        return max(n, 1)
    chunks = -(-n // max(1, budget // row_bytes))
    return -(-n // chunks)


@dataclass(frozen=True)
class Transform(ABC):
    """A waveform augmentation applied to each clip with probability `p`."""

    p: float = 0.5
    name: ClassVar[str]
    changes: ClassVar[frozenset[str]] = frozenset()  # properties of the music it alters (augment.policy)

    @property
    def alters(self) -> frozenset[str]:
        """The properties this transform alters (a choice of several: what any of them alters)."""
        return self.changes

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"{self.name}: p must be in [0, 1], got {self.p}")

    def draw(self, n: int) -> Params:
        """Parameters for n clips."""
        return {}

    @abstractmethod
    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        """(N, S) → (N, S) with each row's parameters; deterministic given them (noise aside)."""

    @abstractmethod
    def cpu(self) -> BaseWaveformTransform:
        """The per-clip audiomentations transform with the same parameter distribution."""

    def row_bytes(self, x: torch.Tensor) -> int:
        """The bytes one row of x takes in this transform's working set (one row of x itself, unless it says more)."""
        return x.element_size() * x.shape[-1]

    def apply_to_rows(self, x: torch.Tensor, index: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        """x, which the caller owns, with its rows `index` (distinct, sorted, on x's device) replaced in place by this
        transform applied to them with `params` (one row each): a copy of the batch per transform would cost as much
        as the cheap transforms themselves. When every row is chosen there is no gather and scatter, and the length
        may change (crop). (N, S) → (N, S')."""
        step = chunk_rows(len(index), self.row_bytes(x), CPU_CHUNK_BYTES, x.device)

        def part(start: int) -> Params:
            return {key: value[start:start + step] for key, value in params.items()}

        if len(index) == len(x):
            if step >= len(x):
                return self.apply(x, params, sample_rate)
            return torch.cat([self.apply(x[start:start + step], part(start), sample_rate)
                              for start in range(0, len(x), step)])
        for start in range(0, len(index), step):
            rows = index[start:start + step]
            x.index_copy_(0, rows, self.apply(x.index_select(0, rows), part(start), sample_rate))
        return x

    def apply_masked(self, x: torch.Tensor, mask: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        """x with the rows where `mask` holds replaced by this transform applied to them, computed on every row: the
        accelerator's path, whose shapes are the batch's whatever the draws and which reads nothing back to the host.
        `mask` (N,) bool and `params` (one row each for all N rows; rows outside the mask hold any valid draw) are on
        the host. (N, S) → (N, S'), the length changing only where every row is chosen (crop)."""
        out = self.apply(x, on_device(params, x.device), sample_rate)
        if bool(mask.all()):
            return out
        return torch.where(mask.to(x.device, non_blocking=True).unsqueeze(-1), out, x)


@dataclass(frozen=True)
class Scale(Transform):
    """A transform that multiplies each row by a number. Applied to some rows, it is one multiplication of the whole
    batch (by 1 where it does not apply) instead of a gather, a multiplication and a scatter."""

    @abstractmethod
    def factor(self, params: Params, n: int) -> torch.Tensor:
        """(n,) the factor of each of n rows."""

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        return x * self.factor(params, len(x)).to(device=x.device, dtype=x.dtype).unsqueeze(-1)

    def apply_to_rows(self, x: torch.Tensor, index: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        factors = torch.ones(len(x), device=x.device, dtype=x.dtype)
        factors[index] = self.factor(params, len(index)).to(factors)
        return x.mul_(factors.unsqueeze(-1))

    def apply_masked(self, x: torch.Tensor, mask: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        factors = torch.where(mask, self.factor(params, len(mask)), 1.0).to(x.dtype)  # (N,) on the host
        return x.mul_(factors.to(x.device, non_blocking=True).unsqueeze(-1))
