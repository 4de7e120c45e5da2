"""`data.augment`: one transform list and the backend that runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ssl_mir.augment.transform import Transform
from ssl_mir.augment.vocabulary import parse

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
