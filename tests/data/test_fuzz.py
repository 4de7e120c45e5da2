"""Property-based tests (hypothesis) of what users hand us: manifests and audio files, damaged in every way we can
generate. Each case ends in a manifest that says exactly what the file says, or a clear error naming the file,
never a crash of another kind, a hang, or a silent wrong value. Bounded (a few dozen examples each) to stay fast."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssl_mir.data.audio import BadAudioError, check_content, probe, read_crop
from ssl_mir.data.manifest import SPLITS, Manifest

FUZZ = settings(max_examples=int(os.environ.get("SSL_MIR_FUZZ_EXAMPLES", 40)), deadline=None, derandomize=True,
                database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the same cases on CI
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # any unicode but lone surrogates
records = st.lists(st.fixed_dictionaries({
    "path": st.one_of(st.sampled_from(["a.wav", "b.wav", "sub/c.wav", " a.wav ", ""]), text),
    "split": st.one_of(st.sampled_from([*SPLITS, "", "Train", "validation"]), text),
    "genre": st.one_of(st.none(), text),
}), max_size=6)


def _expect(manifest_path: Path, rows: list[dict[str, str | None]], load: object) -> None:
    """Loading either raises a ValueError/FileNotFoundError naming the manifest, or returns exactly its rows."""
    try:
        manifest = load()  # type: ignore[operator]
    except (ValueError, FileNotFoundError) as err:
        assert str(manifest_path) in str(err)
        return
    assert len(manifest.rows) == len(rows)
    for got, want in zip(manifest.rows, rows):
        assert got.path == str((manifest_path.parent / str(want["path"]).strip()).resolve())
        assert got.split == ((want["split"] or "").strip() or None)
        genre = (want["genre"] or "").strip()
        assert got.labels == ({"genre": genre} if genre else {})


@FUZZ
@given(rows=records, bom=st.booleans(), newline=st.sampled_from(["\n", "\r\n", "\r"]), quote_all=st.booleans())
def test_csv_manifests_load_exactly_or_fail_clearly(tmp_path: Path, rows: list[dict[str, str | None]], bom: bool,
                                                    newline: str, quote_all: bool) -> None:
    buffer = io.StringIO()
    breaks = any(c in str(v) for r in rows for v in r.values() for c in "\r\n")  # unquoted, a break ends a record
    writer = csv.writer(buffer, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_all or breaks else
                        csv.QUOTE_MINIMAL)
    writer.writerow(["path", "split", "genre"])
    for r in rows:
        writer.writerow([r["path"], r["split"], r["genre"] or ""])
    path = tmp_path / "m.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8-sig" if bom else "utf-8"))
    _expect(path, rows, lambda: Manifest.load(path))


@FUZZ
@given(rows=records, bom=st.booleans(), newline=st.sampled_from(["\n", "\r\n"]))
def test_jsonl_manifests_load_exactly_or_fail_clearly(tmp_path: Path, rows: list[dict[str, str | None]], bom: bool,
                                                      newline: str) -> None:
    lines = [json.dumps({k: v for k, v in r.items() if v is not None}) for r in rows]
    path = tmp_path / "m.jsonl"
    path.write_bytes(newline.join(lines).encode("utf-8-sig" if bom else "utf-8"))
    _expect(path, rows, lambda: Manifest.load(path))


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".jsonl"]))
def test_garbage_manifests_fail_clearly(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"m{suffix}"
    path.write_bytes(data)
    try:
        Manifest.load(path)
    except (ValueError, FileNotFoundError) as err:
        assert str(path) in str(err)


@pytest.fixture(scope="module")
def whole_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A 3-s tone in each format we decode, as bytes."""
    folder = tmp_path_factory.mktemp("formats")
    t = np.arange(3 * 16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = {}
    for suffix in (".wav", ".flac", ".mp3", ".ogg"):
        sf.write(folder / f"tone{suffix}", tone, 16000)
        out[suffix] = (folder / f"tone{suffix}").read_bytes()
    return out


def _decode_or_refuse(path: Path) -> None:
    """A file is refused with its name, or everything read from it is finite and as long as asked."""
    try:
        info = probe(path)
    except BadAudioError as err:
        assert err.path == str(path) and err.problem
        return
    problem = check_content(path, info)
    if problem is not None:
        return
    seconds = min(info.duration, 1.0)
    crop = read_crop(path, 0.0, seconds, 16000)
    assert crop.shape == (round(seconds * 16000),) and bool(crop.isfinite().all())


@FUZZ
@given(suffix=st.sampled_from([".wav", ".flac", ".mp3", ".ogg"]), cut=st.floats(0.0, 1.0))
def test_truncated_audio_is_refused_or_read_whole(tmp_path: Path, whole_files: dict[str, bytes], suffix: str,
                                                  cut: float) -> None:
    data = whole_files[suffix]
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(cut * len(data))])
    _decode_or_refuse(path)


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".wav", ".flac", ".mp3", ".ogg"]))
def test_random_bytes_are_refused_or_read_whole(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(data)
    _decode_or_refuse(path)
