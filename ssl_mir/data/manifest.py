"""Manifest: the rows of a corpus (path, split, labels, header facts) from a CSV, a JSONL file or a folder scan.

Building a manifest validates it: missing paths and duplicate rows are errors that name the row. `Manifest.check`
then probes every file (header, and optionally a decode of the whole file) and either raises one error that lists
every bad file with its problem, or, with ``on_bad_file="skip"``, drops them, logs each one and counts them.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Iterable, Literal

import numpy as np

from ssl_mir.data.audio import AUDIO_EXTENSIONS, MAX_AMPLITUDE, BadAudioError, check_content, probe
from ssl_mir.progress import progress

log = logging.getLogger(__name__)

OnBadFile = Literal["raise", "skip"]
TaskKind = Literal["multiclass", "multilabel", "regression"]
MULTILABEL_SEP = ";"  # between the labels of a multilabel cell
RESERVED_COLUMNS = ("path", "split")
SPLITS = ("train", "valid", "test")  # the values of the 'split' column; empty means no split


@dataclass(frozen=True)
class Row:
    """One audio file. Label values are strings; multilabel values are ';'-separated."""

    path: str
    split: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True)
class BadFile:
    path: str
    problem: str


class Manifest:
    """An ordered, validated list of rows.

    Args:
        rows: the rows; paths must be unique.
        source: where the rows came from, for error messages.
    """

    def __init__(self, rows: Iterable[Row], source: str = "<memory>") -> None:
        self.rows: list[Row] = list(rows)
        self.source = source
        self.skipped: list[BadFile] = []
        unknown = sorted({r.split for r in self.rows if r.split is not None and r.split not in SPLITS})
        if unknown:
            found = sorted({r.split or "(empty)" for r in self.rows})
            raise ValueError(f"{source}: unknown split value(s) {unknown}; the 'split' column holds {found}, and "
                             f"accepts {list(SPLITS)} or an empty cell")
        seen: dict[str, int] = {}
        for i, row in enumerate(self.rows):
            if row.path in seen:
                raise ValueError(f"{source}: row {i} repeats the path {row.path} of row {seen[row.path]}")
            seen[row.path] = i
        if not self.rows:
            raise ValueError(f"{source}: no audio files")

    def __len__(self) -> int:
        return len(self.rows)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, source: str | Path) -> Manifest:
        """A folder (scanned recursively for audio), a .csv or a .jsonl file."""
        source = Path(source)
        if source.is_dir():
            return cls.from_folder(source)
        if not source.exists():
            raise FileNotFoundError(f"manifest or folder not found: {source}")
        if source.suffix == ".csv":
            return cls.from_csv(source)
        if source.suffix in (".jsonl", ".ndjson"):
            return cls.from_jsonl(source)
        raise ValueError(f"{source}: a manifest must be a folder, a .csv or a .jsonl file")

    @classmethod
    def from_folder(cls, root: str | Path) -> Manifest:
        """Every audio file under `root`; folders named like audio files and broken links are left out, logged and
        counted in `skipped`."""
        root = Path(root)
        named = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
        paths = [p for p in named if p.is_file()]
        odd = [BadFile(str(p), "a folder named like an audio file" if p.is_dir() else "a broken link")
               for p in named if not p.is_file()]
        for b in odd:
            log.warning("skipping %s: %s", b.path, b.problem)
        if odd:
            log.warning("%s: skipped %d of %d entries named like audio files", root, len(odd), len(named))
        if not paths:
            raise ValueError(f"{root}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this folder")
        manifest = cls((Row(path=str(p.resolve())) for p in paths), source=str(root))
        manifest.skipped = odd
        return manifest

    @classmethod
    def from_csv(cls, path: str | Path) -> Manifest:
        path = Path(path)
        with _text(path) as f, _readable(path):
            reader = csv.DictReader(f)
            if reader.fieldnames is None or "path" not in reader.fieldnames:
                raise ValueError(f"{path}: the CSV needs a 'path' column (found {reader.fieldnames})")
            records = list(reader)
        return cls((_row(rec, path, i + 2) for i, rec in enumerate(records)), source=str(path))

    @classmethod
    def from_jsonl(cls, path: str | Path) -> Manifest:
        path = Path(path)
        rows = []
        with _text(path) as f, _readable(path):
            for i, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{i}: invalid JSON ({err.msg})") from err
                if not isinstance(rec, dict) or "path" not in rec:
                    raise ValueError(f"{path}:{i}: each line must be an object with a 'path' key")
                rec = {k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in rec.items()}
                rows.append(_row(rec, path, i))
        return cls(rows, source=str(path))

    # ------------------------------------------------------------------ queries
    def split(self, name: str) -> Manifest:
        """The rows of one split, e.g. 'train'."""
        rows = [r for r in self.rows if r.split == name]
        if not rows:
            found = sorted({str(r.split) for r in self.rows})
            raise ValueError(f"{self.source}: no rows in split '{name}' (splits found: {', '.join(found)})")
        return Manifest(rows, source=f"{self.source}[{name}]")

    def subset(self, fraction: float, seed: int = 0) -> Manifest:
        """A seeded share of the rows, in manifest order. Subsets of one seed are nested: the rows of a smaller
        fraction are among those of a larger one (so that pre-training on 10 %, 30 % and 100 % of a pool adds data)."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"{self.source}: fraction must be in (0, 1], got {fraction}")
        n = max(1, round(fraction * len(self.rows)))
        keep = sorted(np.random.default_rng(seed).permutation(len(self.rows))[:n].tolist())
        return Manifest([self.rows[i] for i in keep], source=f"{self.source}[{fraction:g} of the rows]")

    @property
    def hours(self) -> float:
        """Total duration of the rows in hours (known once the rows are checked)."""
        return sum(r.duration for r in self.rows) / 3600.0

    @property
    def splits(self) -> set[str | None]:
        return {r.split for r in self.rows}

    def require_column(self, column: str) -> None:
        missing = [r.path for r in self.rows if column not in r.labels]
        if missing:
            raise ValueError(f"{self.source}: label column '{column}' missing for {len(missing)} rows, e.g. {missing[0]}")

    def write_csv(self, path: str | Path) -> Path:
        """Write path (relative to the CSV's folder), split and every label column; `Manifest.load` reads it back."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(k for r in self.rows for k in r.labels))
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "split", *columns])
            for r in self.rows:
                relative = os.path.relpath(r.path, path.parent.resolve())
                writer.writerow([relative, r.split or "", *(r.labels.get(c, "") for c in columns)])
        return path

    # ------------------------------------------------------------------ checking
    def check(
        self,
        on_bad_file: OnBadFile = "raise",
        min_duration: float = 0.0,
        max_channels: int = 2,
        decode: bool = True,
        workers: int = 4,
        max_amplitude: float = MAX_AMPLITUDE,
    ) -> Manifest:
        """Probe every file and fill in duration, sample rate and channels.

        Args:
            on_bad_file: "raise" one error listing all bad files, or "skip" them (logged and counted in `skipped`).
            min_duration: seconds a file needs, e.g. one crop.
            max_channels: files with more channels are refused (downmixing 5.1 to mono is rarely what was meant).
            decode: also decode the whole file to catch NaN, silence, absurd amplitudes, a length short of the
                header's and corruption past the header.
            workers: threads for probing (soundfile releases the GIL while decoding).
            max_amplitude: with `decode`, files whose absolute peak exceeds this are bad.

        Returns:
            A new manifest with the good rows.
        """

        def inspect(row: Row) -> Row | BadFile:
            try:
                info = probe(row.path)
            except BadAudioError as err:
                return BadFile(row.path, err.problem)
            if info.channels > max_channels:
                return BadFile(row.path, f"{info.channels} channels (at most {max_channels} expected)")
            if info.duration < min_duration:
                return BadFile(row.path, f"too short: {info.duration:.2f} s, need at least {min_duration:.2f} s")
            problem = check_content(row.path, info, max_amplitude) if decode else None
            if problem:
                return BadFile(row.path, problem)
            return replace(row, duration=info.duration, sample_rate=info.sample_rate, channels=info.channels)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(progress(pool.map(inspect, self.rows), f"checking {len(self.rows)} files",
                                    len(self.rows)))
        bad = [r for r in results if isinstance(r, BadFile)]
        good = [r for r in results if isinstance(r, Row)]
        if bad and on_bad_file == "raise":
            listing = "\n".join(f"  {b.path}: {b.problem}" for b in bad)
            raise BadAudioError(bad[0].path if len(bad) == 1 else self.source,
                                f"{len(bad)} bad audio file(s) (set on_bad_file: skip to leave them out):\n{listing}")
        for b in bad:
            log.warning("skipping %s: %s", b.path, b.problem)
        if bad:
            log.warning("%s: skipped %d of %d files", self.source, len(bad), len(results))
        if not good:
            raise ValueError(f"{self.source}: every file was bad ({len(bad)} skipped)")
        checked = Manifest(good, source=self.source)
        checked.skipped = self.skipped + bad
        return checked


def _text(path: Path) -> IO[str]:
    """A manifest opened as UTF-8 text; a byte-order mark is not part of the first column."""
    return open(path, newline="", encoding="utf-8-sig")


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Reading errors of a manifest (not UTF-8, NUL bytes, a broken CSV) as ValueErrors that name it."""
    try:
        yield
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason})") from None
    except csv.Error as err:
        raise ValueError(f"{path}: not a readable CSV ({err})") from None


def _row(rec: dict[str, object], manifest_path: Path, line: int) -> Row:
    """A manifest record → Row; relative paths are resolved against the manifest's folder."""
    raw = str(rec.get("path") or "").strip()
    if not raw:
        raise ValueError(f"{manifest_path}:{line}: empty path")
    if "\x00" in raw:
        raise ValueError(f"{manifest_path}:{line}: the path holds a NUL character")
    path = Path(raw)
    if not path.is_absolute():
        path = manifest_path.parent / path
    split = rec.get("split")
    labels = {k: str(v).strip() for k, v in rec.items() if k not in RESERVED_COLUMNS and v is not None and str(v).strip() != ""}
    return Row(path=str(path.resolve()), split=str(split).strip() if split not in (None, "") else None, labels=labels)
