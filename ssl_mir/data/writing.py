"""Writing a generated corpus: rendering in worker processes, 16-bit WAV clips and a manifest CSV."""

from __future__ import annotations

import csv
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf


def write_clip(root: Path, name: str, audio: np.ndarray, sample_rate: int) -> str:
    """Write (S,) float audio as 16-bit PCM WAV at `root / name`; returns `name` (the manifest's relative path)."""
    sf.write(root / name, audio.astype(np.float32), sample_rate, subtype="PCM_16")
    return name


def write_manifest(path: Path, rows: list[dict[str, str]], fields: list[str]) -> Path:
    """A manifest CSV with these columns, one row per clip; returns its path."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def map_in_workers(fn: Callable[[Any], Any], jobs: Iterable[Any], workers: int) -> Iterator[Any]:
    """`fn` over `jobs`, results in order, in `workers` spawned processes (in this one when `workers` is 1): the
    generated corpora's files do not depend on how many."""
    if workers <= 1:
        yield from map(fn, jobs)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(fn, jobs)
