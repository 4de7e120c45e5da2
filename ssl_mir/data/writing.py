"""Writing a generated corpus: 16-bit WAV clips and a manifest CSV."""

from __future__ import annotations

import csv
from pathlib import Path

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
