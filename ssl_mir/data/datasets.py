"""Datasets over checked manifest rows: random crops for training, deterministic chunks for evaluation."""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from ssl_mir.data.audio import read_crop
from ssl_mir.data.manifest import Row
from ssl_mir.data.sampling import Draw, Stream, seeded

# (path, start seconds, duration seconds, sample rate) → (S,) waveform: audio.read_crop or DecodedCache.read.
CropReader = Callable[[str, float, float, int], torch.Tensor]


class WaveTransform(Protocol):
    """Anything that maps a waveform (S,) at a sample rate to a waveform (S,), e.g. augment.waveform.CpuAugment."""

    def apply(self, wave: torch.Tensor, sample_rate: int) -> torch.Tensor: ...


class CropDataset(Dataset):
    """n views of one clip, each an independent random crop (CLMR, Spijkervet & Burgoyne 2021).

    An item is a `Draw` (from `sampling.EpochSampler`) and every random choice it makes, the crops' starts and the
    per-clip augmentation, is seeded by it: a clip gets the same views in any worker, any worker count and any rank,
    and a resumed run the same as an uninterrupted one.

    Args:
        rows: checked rows (duration known), each at least `crop_samples` long.
        sample_rate: output rate.
        crop_samples: samples per view.
        n_views: crops per item.
        transform: applied to each view independently, (wave (S,), sample_rate) → (S,).
        targets: per-task target tensors aligned with `rows`, returned under "targets".
        reader: reads a crop (default: seek-read and resample the file).
    """

    def __init__(
        self,
        rows: list[Row],
        sample_rate: int,
        crop_samples: int,
        n_views: int = 2,
        transform: WaveTransform | None = None,
        targets: dict[str, torch.Tensor] | None = None,
        reader: CropReader = read_crop,
    ) -> None:
        self.rows = rows
        self.sample_rate = sample_rate
        self.reader = reader
        self.crop_seconds = crop_samples / sample_rate
        self.n_views = n_views
        self.transform = transform
        self.targets = targets or {}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: Draw | int) -> dict[str, object]:
        draw = key if isinstance(key, Draw) else Draw(int(key))
        row = self.rows[draw.index]
        item = crop_views(draw, row.duration, self.crop_seconds, self.n_views, self.sample_rate, self.transform,
                          lambda start: self.reader(row.path, start, self.crop_seconds, self.sample_rate))
        if self.targets:
            item["targets"] = {name: t[draw.index] for name, t in self.targets.items()}
        return item


def crop_views(draw: Draw, duration: float, crop_seconds: float, n_views: int, sample_rate: int,
               transform: WaveTransform | None, read: Callable[[float], torch.Tensor]) -> dict[str, object]:
    """An item of `n_views` random crops of one clip, every draw seeded by `draw`: the crops' starts (uniform over
    the clip) and each view's augmentation. `read(start seconds)` gives a crop (S,)."""
    starts = np.random.default_rng(draw.seed_for(Stream.CROP)).uniform(0.0, max(duration - crop_seconds, 0.0), n_views)
    views = []
    for view, start in enumerate(starts):
        wave = read(float(start))
        if transform is not None:
            with seeded(draw.seed_for(Stream.WORKER_AUGMENT, view)):
                wave = transform.apply(wave, sample_rate)
        views.append(wave)
    return {
        "views": torch.stack(views),  # (V, S)
        "index": draw.index,
        "draw": torch.tensor([draw.seed, draw.epoch, draw.batch]),  # what the batch's own draws are seeded by
    }


class ChunkDataset(Dataset):
    """Every clip cut into non-overlapping chunks; each item keeps its clip index for clip-level aggregation and its
    own index, so that chunks a distributed sampler repeats are scored once.

    A clip of duration d gives max(1, floor(d / chunk)) chunks, optionally capped at `max_chunks` spread evenly.

    Args:
        rows: checked rows.
        sample_rate: output rate.
        chunk_samples: samples per chunk.
        targets: per-task target tensors aligned with `rows`.
        max_chunks: at most this many chunks per clip (None: all).
        reader: reads a chunk (default: seek-read and resample the file).
    """

    def __init__(
        self,
        rows: list[Row],
        sample_rate: int,
        chunk_samples: int,
        targets: dict[str, torch.Tensor] | None = None,
        max_chunks: int | None = None,
        reader: CropReader = read_crop,
    ) -> None:
        self.rows = rows
        self.sample_rate = sample_rate
        self.reader = reader
        self.chunk_seconds = chunk_samples / sample_rate
        self.targets = targets or {}
        self.index: list[tuple[int, float]] = []  # (clip, start seconds)
        for clip, row in enumerate(rows):
            n = max(1, int(row.duration // self.chunk_seconds + 1e-9))
            ks = range(n) if max_chunks is None or n <= max_chunks else np.linspace(0, n - 1, max_chunks).round()
            self.index.extend((clip, int(k) * self.chunk_seconds) for k in ks)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, object]:
        clip, start = self.index[i]
        wave = self.reader(self.rows[clip].path, start, self.chunk_seconds, self.sample_rate)  # (S,)
        item: dict[str, object] = {"wave": wave, "clip": clip, "chunk": i}
        if self.targets:
            item["targets"] = {name: t[clip] for name, t in self.targets.items()}
        return item
