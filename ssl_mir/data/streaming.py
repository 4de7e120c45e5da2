"""Random crops streamed from a shard folder (`data.shards`) through litdata.

litdata's `StreamingDataset` downloads whole chunks into a local cache of bounded size, shuffles the chunks and then
the clips within a window of them, and gives every rank and loader worker its own clips (none twice); its
`StreamingDataLoader` keeps how far the epoch went, which the data module puts in checkpoints. On top, each clip's
crops and per-clip augmentations are seeded by (run seed, epoch, clip), as for files (`datasets.CropDataset`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from litdata import StreamingDataLoader, StreamingDataset
from litdata.streaming.sampler import ChunkedIndex

from ssl_mir.data.audio import int16_crop
from ssl_mir.data.datasets import WaveTransform, crop_views
from ssl_mir.data.sampling import Draw
from ssl_mir.data.shards import is_url, record_samples


def split_location(location: str, split: str | None) -> str:
    """Where a split's shards are: `location/<split>` when `ssl-mir shard` wrote one folder per split, else
    `location` itself (a corpus without splits, which then is used whole)."""
    if split is None:
        return location
    if is_url(location):
        return f"{location.rstrip('/')}/{split}"
    root = Path(location)
    if (root / split / "index.json").is_file():
        return str(root / split)
    if (root / "index.json").is_file():
        return location
    raise FileNotFoundError(f"{location}: no shard folder (index.json) here or in {root / split}; write one with "
                            f"ssl-mir shard")


class StreamingCrops(StreamingDataset):
    """n views of each streamed clip, each an independent random crop (CLMR, Spijkervet & Burgoyne 2021).

    Args:
        location: a shard folder or URL (`ssl-mir shard`).
        sample_rate: the rate the shards must hold.
        crop_samples: samples per view.
        n_views: crops per item.
        transform: applied to each view, (wave (S,), sample_rate) → (S,).
        seed: the run's seed: the order of chunks and clips, and each clip's crops.
        cache_dir: where downloaded chunks are kept (None: litdata's default; unused for local folders).
        max_cache_size: the cache's bound, e.g. "50GB".
    """

    def __init__(self, location: str, sample_rate: int, crop_samples: int, n_views: int = 2,
                 transform: WaveTransform | None = None, seed: int = 0, cache_dir: str | None = None,
                 max_cache_size: str = "50GB") -> None:
        # batch_decode off: with shuffled clips litdata's decode window deserialises ~40 records per record used.
        super().__init__(location, cache_dir=cache_dir, shuffle=True, drop_last=True, seed=seed,
                         max_cache_size=max_cache_size, batch_decode=False)
        self.location = location
        self.sample_rate = sample_rate
        self.crop_seconds = crop_samples / sample_rate
        self.n_views = n_views
        self.view_transform = transform  # (litdata has a `transform` of its own)
        self.run_seed = seed

    def __getitem__(self, index: ChunkedIndex | int) -> dict[str, Any]:
        record = super().__getitem__(index)
        clip = index.index if isinstance(index, ChunkedIndex) else int(index)
        if record["sample_rate"] != self.sample_rate:
            raise ValueError(f"{self.location}: clip {json.loads(record['meta'])['clip']} is at "
                             f"{record['sample_rate']} Hz, the data module at {self.sample_rate} Hz; shard again "
                             f"with --sample_rate {self.sample_rate}")
        samples = record_samples(record["audio"])  # (S,) int16
        # A stream numbers no batches: a batch's own draws (`batch_draw`) are keyed by its first clip instead, which
        # no other batch of the epoch holds.
        draw = Draw(clip, self.current_epoch, clip, self.run_seed)
        return crop_views(draw, len(samples) / self.sample_rate, self.crop_seconds, self.n_views, self.sample_rate,
                          self.view_transform, lambda start: int16_crop(samples, start, self.crop_seconds, self.sample_rate))


def streaming_loader(dataset: StreamingCrops, batch_size: int, num_workers: int,
                     state: dict | None = None) -> StreamingDataLoader:
    """Whole batches of the stream; `state` (a `state_dict` of an earlier loader) resumes mid-epoch."""
    # Persistent workers: litdata passes each epoch on to them (its order and the crops' epoch change), and a small
    # corpus then does not pay a start of the workers every epoch.
    loader = StreamingDataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                                 pin_memory=torch.cuda.is_available(), drop_last=True,
                                 persistent_workers=num_workers > 0)
    if state is not None:
        loader.load_state_dict(state)
    return loader
