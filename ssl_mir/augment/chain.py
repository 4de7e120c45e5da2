"""`data.augment`: one transform list and the backend that runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ssl_mir.augment.batch import BatchAugment
from ssl_mir.augment.vocabulary import Transform, parse
from ssl_mir.augment.waveform import CpuAugment

Backend = Literal["device", "cpu"]


@dataclass
class Augmentation:
    """Waveform augmentations of training crops.

    Args:
        transforms: the vocabulary's entries in order, e.g. [{name: gain, p: 0.3, min_gain_db: -20, max_gain_db: -1}]
            (names and parameters in `ssl_mir.augment.vocabulary`).
        backend: "device" runs the list on whole batches on the training device after transfer (one call per
            transform and batch; also the faster one on a CPU-only machine, benchmarks/RESULTS.md); "cpu" runs it per
            clip with audiomentations in the dataloader workers.
    """

    transforms: list[dict[str, Any]] = field(default_factory=list)
    backend: Backend = "device"

    def parsed(self) -> list[Transform]:
        return parse(self.transforms, "data.augment.transforms")

    def worker_transform(self) -> CpuAugment | None:
        """What the dataset applies per clip: the chain on the cpu backend, else nothing."""
        return CpuAugment(self.parsed()) if self.backend == "cpu" else None

    def batch_transform(self, sample_rate: int) -> BatchAugment | None:
        """What the data module applies to each training batch on the device: the chain on the device backend."""
        return BatchAugment(self.parsed(), sample_rate) if self.backend == "device" else None
