"""On-disk cache of chunk embeddings, keyed by what determines them: the encoder's weights and config, and the
chunking of the data (files with their size and modification time, rate, chunk length and positions).

Entries are safetensors files holding every layer, so reading the cache never unpickles anything. Any change to the encoder (another
checkpoint, another random seed) or to the audio files gives another key, so a stale entry is never read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ssl_mir.atomic import write_atomic
from ssl_mir.data.datasets import ChunkDataset
from ssl_mir.encoders.base import Encoder, Pooling
from ssl_mir.evaluation.embeddings import ChunkEmbeddings, extract

log = logging.getLogger(__name__)
FORMAT = "layers-v2"  # part of every key: entries of an older layout are never read


def encoder_fingerprint(encoder: Encoder) -> str:
    """sha256 of the class, its constructor arguments and every weight and buffer."""
    h = hashlib.sha256(json.dumps([encoder.class_path, encoder.get_config()], sort_keys=True, default=str).encode())
    for name, tensor in sorted(encoder.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def data_fingerprint(dataset: ChunkDataset) -> str:
    """sha256 of the files (path, size, mtime), the sample rate and the chunks."""
    h = hashlib.sha256(json.dumps([dataset.sample_rate, dataset.chunk_seconds, dataset.index]).encode())
    for row in dataset.rows:
        stat = os.stat(row.path)
        h.update(f"{row.path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cached_extract(encoder: Encoder, dataset: ChunkDataset, cache_dir: str | Path | None, batch_size: int = 32,
                   num_workers: int = 0, device: torch.device | str | None = None,
                   pooling: Pooling = "encoder") -> ChunkEmbeddings:
    """`extract`, reading from and writing to `cache_dir` (None: no cache); the pooling is part of the key."""
    if cache_dir is None:
        return extract(encoder, dataset, batch_size, num_workers, device, pooling)
    key = hashlib.sha256(f"{FORMAT}{pooling}{encoder_fingerprint(encoder)}{data_fingerprint(dataset)}"
                         .encode()).hexdigest()[:32]
    path = Path(cache_dir) / f"{key}.safetensors"
    if path.is_file():
        try:
            stored = load_file(str(path))
            if not all(bool(t.isfinite().all()) for t in stored.values()):
                raise ValueError("it holds NaN or infinite values")
            log.info("embedding cache hit: %s", path)
            return ChunkEmbeddings([stored[f"layer_{i}"] for i in range(len(stored) - 1)], stored["clip"])
        except Exception as err:  # noqa: BLE001 (a damaged entry is derived data: computed again)
            log.warning("embedding cache entry %s is unreadable (%s); computing it again", path, err)
    embeddings = extract(encoder, dataset, batch_size, num_workers, device, pooling)
    tensors = {f"layer_{i}": x.contiguous() for i, x in enumerate(embeddings.layers)}
    write_atomic(path, lambda tmp: save_file({**tensors, "clip": embeddings.clip.contiguous()}, str(tmp)))
    return embeddings
