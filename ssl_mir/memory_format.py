"""Channels-last weights for training: 2-D convolutions run on NHWC data, which oneDNN (CPU) and cuDNN (tensor cores)
compute faster than NCHW. Measured here on a CPU, the model step of the 2-D CNN configs is 1.56-1.66× faster and
the transformers' unchanged (benchmarks/RESULTS.md, "Channels-last"); 1-D and dense layers are untouched."""

from __future__ import annotations

import torch


class ChannelsLast:
    """LightningModule mixin: when fit starts, with `self.channels_last` set, every 4-D parameter and buffer
    (Conv2d weights) is put in channels-last memory format. Values are unchanged, so checkpoints, resumes and exports
    (written contiguous) are as before."""

    channels_last: bool

    def on_fit_start(self) -> None:
        if self.channels_last:
            self.to(memory_format=torch.channels_last)  # type: ignore[attr-defined]
