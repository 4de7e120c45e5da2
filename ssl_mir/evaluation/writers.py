"""Embeddings of a corpus written for use outside ssl_mir: NumPy (.npy + index.csv) or Parquet.

Clip level: one row per file, the encoder's pooling of all its frames. Frame level: every frame of every file, with
its time. Parquet needs pyarrow (`pip install 'ssl_mir[parquet]'`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ssl_mir.data.manifest import Row
from ssl_mir.encoders.base import Encoder

Level = Literal["clip", "frame"]
Format = Literal["npy", "parquet"]


def part_suffix(part: tuple[int, int] | None) -> str:
    """"" for one process, "-00001-of-00004" for the share of rank 1 of 4."""
    return "" if part is None else f"-{part[0]:05d}-of-{part[1]:05d}"


def write_embeddings(encoder: Encoder, rows: list[Row], frames: list[torch.Tensor], out: str | Path,
                     level: Level = "clip", fmt: Format = "npy", hop_s: float | None = None,
                     part: tuple[int, int] | None = None) -> Path:
    """Write the frames (one (T, D) tensor per row) of one layer, `hop_s` seconds apart (default: the output's).

    npy: index.csv (row, path, frames) and embeddings.npy (N, D) for clips, or frames/<row>.npy (T, D) per file.
    parquet: embeddings.parquet with columns path and embedding (clip level), or path, frame, time_s and embedding
    (frame level). With `part` (rank, world), every name gets the part's suffix (`part_suffix`), so that the ranks of
    one job write beside each other: a sharded Parquet dataset, or npy parts.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = part_suffix(part)
    clips = [encoder.pool(f[None])[0].numpy() for f in frames] if level == "clip" else None  # N × (D,)
    if fmt == "parquet":
        return _parquet(rows, frames, clips, out / f"embeddings{suffix}.parquet", hop_s or 1.0 / encoder.frame_rate)
    with open(out / f"index{suffix}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "path", "frames"])
        writer.writerows((i, r.path, len(fr)) for i, (r, fr) in enumerate(zip(rows, frames)))
    if clips is not None:
        np.save(out / f"embeddings{suffix}.npy", np.stack(clips))  # (N, D)
        return out / f"embeddings{suffix}.npy"
    (out / f"frames{suffix}").mkdir(exist_ok=True)
    for i, fr in enumerate(frames):
        np.save(out / f"frames{suffix}" / f"{i}.npy", fr.numpy())  # (T, D)
    return out / f"frames{suffix}"


def _parquet(rows: list[Row], frames: list[torch.Tensor], clips: list[np.ndarray] | None, path: Path,
             hop_s: float) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet output needs pyarrow: pip install 'ssl_mir[parquet]' (or use --format npy)") from None

    def column(vectors: list[np.ndarray]) -> pa.Array:
        flat = np.concatenate(vectors).astype(np.float32)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])

    if clips is not None:
        table = pa.table({"path": [r.path for r in rows], "embedding": column([c[None] for c in clips])})
    else:
        table = pa.table({
            "path": [r.path for r, fr in zip(rows, frames) for _ in range(len(fr))],
            "frame": np.concatenate([np.arange(len(fr)) for fr in frames]),
            "time_s": np.concatenate([np.arange(len(fr)) * hop_s for fr in frames]),
            "embedding": column([fr.numpy() for fr in frames]),
        })
    pq.write_table(table, path)
    return path
