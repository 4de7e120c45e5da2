"""Sharded corpora for streaming: `ssl-mir shard` decodes a manifest once into litdata chunks.

A shard folder holds litdata chunks (`index.json`, `chunk-*.bin`) of one record per clip, in the manifest's order
(a manifest with a split column gives one such folder per split, `out/train`, `out/valid`, `out/test`, and
`out/unsplit` for rows without one, so that pre-training on `train` never streams a test clip):

    {"audio": int16 samples (S,) or the bytes of a 16-bit FLAC file, "sample_rate": int,
     "meta": JSON of {"clip": the manifest path, "split": "train" | "valid" | "test" | "", "labels": {column: value}}}

(The clip's path travels inside JSON: litdata stores a string that names an existing audio file as that file.)

Local folders and object-storage URLs (s3://, gs://, azure://, through litdata) both work as the output and as
`--data.streaming`. The folder is complete once litdata has written `index.json`; a run stopped before that leaves no
index, and running the command again rewrites the folder. A local output also gets `shards.json` (clips and hours
per folder, the sample rate and format, the files left out as bad) and `clips.jsonl` (each clip's split, labels,
duration, folder and index: the manifest of the shards, which the labeled data module reads instead of the files).
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import torch

from ssl_mir.atomic import write_text_atomic
from ssl_mir.data.audio import MAX_AMPLITUDE, int16_crop, read_audio, to_int16
from ssl_mir.data.manifest import Manifest, OnBadFile, Row

log = logging.getLogger(__name__)

AudioFormat = Literal["int16", "flac"]


def encode_audio(wave: torch.Tensor, sample_rate: int, audio_format: AudioFormat) -> np.ndarray | bytes:
    """(S,) float waveform in [-1, 1] → int16 samples, or the bytes of a 16-bit FLAC file."""
    samples = to_int16(wave.numpy())
    if audio_format == "int16":
        return samples
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def record_samples(audio: np.ndarray | bytes) -> np.ndarray:
    """A record's audio → its int16 samples (S,), from either format (the inverse of `encode_audio`)."""
    if isinstance(audio, (bytes, bytearray)):
        samples, _ = sf.read(io.BytesIO(audio), dtype="int16")
        return samples
    return np.asarray(audio, dtype=np.int16)


def record(row: Row, sample_rate: int, audio_format: AudioFormat) -> dict[str, object]:
    """One clip's record: the whole file decoded, downmixed and resampled (what `read_audio` reads)."""
    wave = read_audio(row.path, sample_rate)  # (S,)
    meta = {"clip": row.path, "split": row.split or "", "labels": row.labels}
    return {"audio": encode_audio(wave, sample_rate, audio_format), "sample_rate": sample_rate,
            "meta": json.dumps(meta, sort_keys=True)}


SUMMARY, CLIPS = "shards.json", "clips.jsonl"


def shard_summary(location: str, split: str | None) -> dict[str, object]:
    """Source, clips and hours of the folder a data module streams (clips and hours from a local `shards.json`)."""
    summary: dict[str, object] = {"source": location}
    try:
        folders = json.loads(sidecar(location, SUMMARY).read_text())["folders"]
    except FileNotFoundError:  # shards written to a URL directly have no sidecars
        return summary
    summary.update(folders.get(split if split in folders else "", {}))  # a split's folder, else the flat one
    return summary


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("local:")


def write_shards(
    manifest: str,
    out: str,
    sample_rate: int = 16000,
    audio_format: AudioFormat = "int16",
    chunk_bytes: str = "64MB",
    workers: int = 2,
    on_bad_file: OnBadFile = "raise",
    min_seconds: float = 0.0,
    max_channels: int = 2,
    max_amplitude: float = MAX_AMPLITUDE,
    overwrite: bool = False,
) -> str:
    """Decode and resample every good file of `manifest` once and write it as litdata chunks under `out`.

    Args:
        manifest: a folder of audio, or a CSV/JSONL manifest (its splits and labels go into the records).
        out: a local folder or an object-storage URL.
        sample_rate: the rate every clip is resampled to (the data modules' `sample_rate` must match it).
        audio_format: "int16" samples (fastest to read) or "flac" bytes (about half the size, decoded per read).
        chunk_bytes: litdata chunk size; a reader downloads and caches whole chunks.
        workers: processes that decode in parallel.
        on_bad_file: "raise" lists every bad file; "skip" leaves them out, logged and counted.
        min_seconds: files shorter than this are bad (e.g. one pre-training crop).
        max_channels: files with more channels are bad.
        max_amplitude: files whose absolute peak exceeds this are bad.
        overwrite: replace a complete shard folder (one with `shards.json`); a partial one is always replaced.

    Returns:
        `out`.
    """
    from litdata import optimize

    local = None if is_url(out) else Path(out)
    if local is not None and (local / SUMMARY).exists() and not overwrite:
        raise FileExistsError(f"{out} already holds a complete shard folder ({SUMMARY}); pass --overwrite true to "
                              f"replace it")
    checked = Manifest.load(manifest).check(on_bad_file, min_seconds, max_channels, max_amplitude=max_amplitude)
    if checked.skipped:
        log.warning("%s: %d bad files left out of the shards", manifest, len(checked.skipped))
    groups: dict[str, list[Row]] = {}
    for row in checked.rows:
        groups.setdefault(row.split or "unsplit", []).append(row)
    if list(groups) == ["unsplit"]:
        groups = {"": groups["unsplit"]}  # no splits: one flat folder
    summary: dict[str, object] = {"sample_rate": sample_rate, "audio_format": audio_format, "folders": {},
                                  "skipped": [{"path": b.path, "problem": b.problem} for b in checked.skipped]}
    clips = [{"clip": r.path, "split": r.split or "", "labels": r.labels, "seconds": r.duration, "folder": name,
              "index": i} for name, rows in groups.items() for i, r in enumerate(rows)]
    for name, rows in groups.items():
        target = f"{out.rstrip('/')}/{name}" if name else out
        if local is not None and Path(target).exists() and not (Path(target) / "index.json").exists():
            shutil.rmtree(target)  # a run stopped before litdata wrote the index
        optimize(fn=partial(record, sample_rate=sample_rate, audio_format=audio_format), inputs=rows,
                 output_dir=target, chunk_bytes=chunk_bytes, num_workers=max(1, min(workers, len(rows))),
                 keep_data_ordered=True, reorder_files=False, mode="overwrite" if overwrite else None)
        check_written(target, len(rows), local is not None)
        summary["folders"][name] = {"clips": len(rows), "hours": round(sum(r.duration for r in rows) / 3600, 4)}  # type: ignore[index]
        log.info("%s: %d clips at %d Hz (%s)", target, len(rows), sample_rate, audio_format)
    if local is not None:
        write_text_atomic(local / CLIPS, "".join(json.dumps(c, sort_keys=True) + "\n" for c in clips))
        write_text_atomic(local / SUMMARY, json.dumps(summary, indent=1))  # last: it marks the folder complete
    return out


def check_written(target: str, expected: int, local: bool) -> None:
    """Raise unless litdata's index under `target` lists `expected` records. litdata returns normally when its worker
    processes die before they start (a script without an `if __name__ == "__main__":` guard, run with workers > 1,
    has each spawned worker run the script again), leaving an index without chunks."""
    index = json.loads(sidecar(target, "index.json").read_text())
    written = sum(chunk["chunk_size"] for chunk in index.get("chunks", []))
    if written != expected:
        if local:
            (Path(target) / "index.json").unlink()  # the folder is partial again: the next run rewrites it
        raise RuntimeError(f"{target}: litdata wrote {written} of {expected} records, so its worker processes failed "
                           f"(their errors are above; a script that calls write_shards with workers > 1 needs an "
                           f"`if __name__ == \"__main__\":` guard); run the command again to rewrite the folder")


def sidecar(location: str, name: str) -> Path:
    """A file `ssl-mir shard` wrote beside the shards (`shards.json`, `clips.jsonl`): local, or downloaded from the
    URL into a temporary folder with litdata's downloader."""
    if not is_url(location):
        path = Path(location) / name
        if not path.is_file():
            raise FileNotFoundError(f"{location}: no {name}; it is written by ssl-mir shard (to a local --out: upload "
                                    f"the whole folder)")
        return path
    import tempfile

    from litdata.streaming.downloader import get_downloader

    local = Path(tempfile.mkdtemp(prefix="ssl_mir_shards_")) / name
    get_downloader(location, str(local.parent), []).download_file(f"{location.rstrip('/')}/{name}", str(local))
    return local


class ShardReader:
    """Crops of clips by their manifest path, read from the shards (`CropReader`'s contract): what the labeled data
    module reads instead of files with `data.streaming`. Each folder is a litdata `StreamingDataset` opened on first
    use in each process; the last clip read is kept, since evaluation reads a clip's chunks one after another.

    Args:
        location: the shard folder or URL.
        cache_dir: where chunks of a URL are cached.
        max_cache_size: the cache's bound.
    """

    def __init__(self, location: str, cache_dir: str | None = None, max_cache_size: str = "50GB") -> None:
        self.location, self.cache_dir, self.max_cache_size = location, cache_dir, max_cache_size
        self.where = {c["clip"]: (c["folder"], c["index"]) for c in clip_table(location)}
        self.folders: dict[str, object] = {}
        self.last: tuple[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:  # workers open their own datasets
        return {**self.__dict__, "folders": {}, "last": None}

    def samples(self, clip: str, sample_rate: int) -> np.ndarray:
        if self.last is not None and self.last[0] == clip:
            return self.last[1]
        from litdata import StreamingDataset

        if clip not in self.where:
            raise KeyError(f"{clip}: not in the shards at {self.location}")
        folder, index = self.where[clip]
        if folder not in self.folders:
            self.folders[folder] = StreamingDataset(f"{self.location.rstrip('/')}/{folder}" if folder else self.location,
                                                    cache_dir=self.cache_dir, max_cache_size=self.max_cache_size)
        record = self.folders[folder][index]  # type: ignore[index]
        if record["sample_rate"] != sample_rate:
            raise ValueError(f"{self.location}: clip {clip} is at {record['sample_rate']} Hz, {sample_rate} Hz asked; "
                             f"shard again with --sample_rate {sample_rate}")
        self.last = (clip, record_samples(record["audio"]))
        return self.last[1]

    def __call__(self, clip: str, start: float, duration: float, sample_rate: int) -> torch.Tensor:
        return int16_crop(self.samples(clip, sample_rate), start, duration, sample_rate)


def clip_table(location: str) -> list[dict]:
    """`clips.jsonl`: one entry per clip (clip, split, labels, seconds, folder, index)."""
    return [json.loads(line) for line in sidecar(location, CLIPS).read_text().splitlines() if line.strip()]


def shard_manifest(location: str) -> Manifest:
    """The shards' clips as a checked manifest (durations known; the files were checked when they were sharded)."""
    sample_rate = json.loads(sidecar(location, SUMMARY).read_text())["sample_rate"]
    rows = [Row(path=c["clip"], split=c["split"] or None, labels=c["labels"], duration=c["seconds"],
                sample_rate=sample_rate, channels=1) for c in clip_table(location)]
    return Manifest(rows, source=location)
