"""The per-clip backend: a parsed transform list run with audiomentations in dataloader workers.

Transforms audiomentations lacks (delay, generated-room reverb, crop) run through `TorchTransform`, which draws
their parameters per clip and applies the batched torch operation to a batch of one, so both backends share that
code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from audiomentations import Compose
from audiomentations.core.transforms_interface import BaseWaveformTransform

if TYPE_CHECKING:
    from ssl_mir.augment.transform import Transform


class TorchTransform(BaseWaveformTransform):
    """An audiomentations transform around one of our `Transform`s: `should_apply` from audiomentations (Python's
    RNG), the parameters from `transform.draw(1)` (torch's RNG, seeded per worker)."""

    supports_multichannel = False

    def __init__(self, transform: Transform) -> None:
        super().__init__(transform.p)
        self.transform = transform

    def randomize_parameters(self, samples: np.ndarray, sample_rate: int) -> None:
        super().randomize_parameters(samples, sample_rate)
        if self.parameters["should_apply"]:
            self.parameters.update(self.transform.draw(1))

    def apply(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        params = {k: v for k, v in self.parameters.items() if isinstance(v, torch.Tensor)}
        out = self.transform.apply(torch.from_numpy(np.asarray(samples, dtype=np.float32))[None], params, sample_rate)
        return out[0].numpy()


class CpuAugment:
    """The chain per clip, (S,) → (S,) (the data module's WaveTransform), each transform with its own p."""

    def __init__(self, transforms: list[Transform]) -> None:
        self.chain = Compose([t.cpu() for t in transforms])

    def apply(self, wave: torch.Tensor, sample_rate: int) -> torch.Tensor:
        out = self.chain(wave.numpy(), sample_rate=sample_rate)  # (S,)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))
