"""What every corpus adapter shares: the converted `Corpus`, split lists read from files, clip ids from paths."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ssl_mir.data.audio import AUDIO_EXTENSIONS
from ssl_mir.data.manifest import Manifest, Row, TaskKind

log = logging.getLogger(__name__)
SPLIT_NAMES = {"train": "train", "val": "valid", "valid": "valid", "validation": "valid", "test": "test"}


@dataclass
class Corpus:
    """A corpus as manifest rows, the tasks its label columns define, and how many files were left out and why."""

    name: str
    rows: list[Row]
    tasks: dict[str, TaskKind]
    left_out: dict[str, int] = field(default_factory=dict)

    def write(self, out: str | Path) -> Path:
        """The manifest CSV; logs what was left out."""
        for reason, n in self.left_out.items():
            if n:
                log.warning("%s: left out %d file(s): %s", self.name, n, reason)
        return Manifest(self.rows, source=self.name).write_csv(out)

    def summary(self) -> str:
        counts = {s: sum(r.split == s for r in self.rows) for s in ("train", "valid", "test")}
        tasks = ", ".join(f"{t}: {k}" for t, k in self.tasks.items())
        return f"{self.name}: {len(self.rows)} clips ({counts}); data.tasks: {{{tasks}}}"


def clip_id(reference: str) -> str:
    """The id a split list or an annotation uses for a file: its name without an audio extension
    ('blues/blues.00012.wav' → 'blues.00012'; '2' → '2')."""
    path = PurePosixPath(reference.strip())
    return path.stem if path.suffix.lower() in AUDIO_EXTENSIONS else path.name


def audio_files(root: str | Path) -> dict[str, Path]:
    """clip id → file, for every audio file under `root`; two files with one id are an error."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    files: dict[str, Path] = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()):
        key = clip_id(path.name)
        if key in files:
            raise ValueError(f"{root}: two audio files have the id '{key}': {files[key]} and {path}")
        files[key] = path
    if not files:
        raise ValueError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    return files


def read_split_lists(split_dir: str | Path) -> dict[str, str]:
    """clip id → split, from the files in `split_dir` whose names start with train, val(id)(ation) or test.

    Text files (.txt, .tsv, .csv) give one clip per line, its id or path in the first tab- or comma-separated field
    (e.g. GTZAN's 'train_filtered.txt', Pons et al.'s 'train_gt_mtt.tsv'); .npy files are arrays of such strings
    (e.g. Won et al.'s 'train.npy'), read without unpickling. Empty lines and lines starting with '#' are skipped.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise FileNotFoundError(f"split folder not found: {split_dir}")
    splits: dict[str, str] = {}
    for path in sorted(split_dir.iterdir()):
        split = next((s for prefix, s in sorted(SPLIT_NAMES.items(), key=lambda kv: -len(kv[0]))
                      if path.name.lower().startswith(prefix)), None)
        if split is None or path.suffix not in (".txt", ".tsv", ".csv", ".npy"):
            continue
        lines = ([str(x) for x in np.load(path, allow_pickle=False)] if path.suffix == ".npy"
                 else path.read_text().splitlines())
        for line in lines:
            if not line.strip() or line.startswith("#"):
                continue
            key = clip_id(line.replace(",", "\t").split("\t")[0])
            if splits.setdefault(key, split) != split:
                raise ValueError(f"{path}: clip '{key}' is in both the {splits[key]} and {split} lists")
    if set(splits.values()) != {"train", "valid", "test"}:
        raise ValueError(f"{split_dir}: need train, valid and test lists (files named train*, val*, test*); "
                         f"found {sorted(set(splits.values()))}")
    return splits


def missing_error(name: str, missing: list[str], root: str | Path) -> ValueError:
    return ValueError(f"{name}: {len(missing)} clip(s) of the split lists have no audio under {root}, "
                      f"e.g. {missing[:3]}")
