"""Normalisation statistics of an encoder's front end, measured on data and written as a composable config.

The front end's `mean` and `std` (or a legacy encoder's `mel_mean` / `mel_std`) are encoder buffers: once set in
the config they travel inside every checkpoint and export (M2D, Niizumi et al. 2023, does the same).
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from ssl_mir.encoders.base import Encoder


@torch.no_grad()
def frontend_stats(encoder: Encoder, batches: Iterable[torch.Tensor], max_batches: int = 20) -> tuple[float, float]:
    """Mean and std of the un-normalised front-end output over up to `max_batches` wave batches (B, S)."""
    frontend = encoder.frontend
    saved = frontend.mean.clone(), frontend.std.clone()
    frontend.mean.fill_(0.0)
    frontend.std.fill_(1.0)
    total, total_sq, count = 0.0, 0.0, 0
    try:
        for i, wave in enumerate(batches):
            if i >= max_batches:
                break
            x = frontend(wave).double()
            total, total_sq, count = total + float(x.sum()), total_sq + float((x**2).sum()), count + x.numel()
    finally:
        frontend.mean.copy_(saved[0])
        frontend.std.copy_(saved[1])
    if count == 0:
        raise ValueError("no audio to measure: the data gave no batches")
    mean = total / count
    return mean, max(total_sq / count - mean**2, 0.0) ** 0.5


def stats_config(encoder: Encoder, mean: float, std: float) -> dict[str, Any]:
    """The config keys that set these statistics for `encoder`, to compose with `-c` after the method YAML."""
    init_args = encoder.get_config()
    if "frontend" in init_args:
        values: dict[str, Any] = {"frontend": {"init_args": {"mean": mean, "std": std}}}
    elif "mel_mean" in init_args:
        values = {"mel_mean": mean, "mel_std": std}
    else:
        raise ValueError(f"{encoder.class_path} has no front-end statistics to set (no frontend or mel_mean)")
    return {"model": {"init_args": {"encoder": {"init_args": values}}}}
