"""The notes corpus: split by program, the pitch label is the pitch that sounds, silent notes are left out."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ssl_mir.data.notes_corpus import GM_FAMILIES, program_splits, synthesize_notes
from ssl_mir.data.render import resolve_backend


def _rows(manifest: Path) -> list[dict[str, str]]:
    with open(manifest) as f:
        return list(csv.DictReader(f))


def test_programs_split_within_each_family_and_by_seed() -> None:
    splits = program_splits(["piano", "brass", "ethnic"], seed=0)
    assert len(splits) == 24
    for family in ("piano", "brass", "ethnic"):
        first = 8 * GM_FAMILIES.index(family)
        dealt = [splits[p] for p in range(first, first + 8)]
        assert sorted(dealt) == ["test"] + ["train"] * 6 + ["valid"]
    assert program_splits(["piano", "brass", "ethnic"], seed=0) == splits
    assert program_splits(["piano", "brass", "ethnic"], seed=1) != splits
    with pytest.raises(ValueError, match="unknown instrument families"):
        program_splits(["kazoo"], seed=0)


def test_notes_sound_at_their_pitch_and_no_program_is_in_two_splits(tmp_path: Path) -> None:
    rows = _rows(synthesize_notes(tmp_path, families=["organ"], lowest=57, highest=59, velocities=[100]))
    assert len(rows) == 8 * 3
    splits: dict[str, set[str]] = {}
    for row in rows:
        splits.setdefault(row["program"], set()).add(row["split"])
        assert row["family"] == "organ"
        audio, rate = sf.read(tmp_path / row["path"])
        spectrum = np.abs(np.fft.rfft(audio[: rate // 2] * np.hanning(rate // 2)))
        f0 = 440 * 2 ** ((int(row["pitch"]) - 69) / 12)

        def comb(f: float) -> float:  # the spectrum at the first 6 harmonics of f
            return sum(float(spectrum[int(round(h * f * (rate // 2) / rate))]) for h in range(1, 7))

        # the harmonics of the labelled pitch stand far above those a semitone either side (an accordion's detuned
        # reeds, the least clear, measured 6×)
        assert comb(f0) > 3 * max(comb(f0 * 2 ** (-1 / 12)), comb(f0 * 2 ** (1 / 12))), row
    assert all(len(s) == 1 for s in splits.values())


@pytest.mark.skipif(resolve_backend("auto")[0] != "soundfont", reason="needs the SoundFont backend")
def test_notes_the_soundfont_cannot_play_are_left_out(tmp_path: Path) -> None:
    rows = _rows(synthesize_notes(tmp_path, families=["reed"], lowest=84, highest=84, velocities=[100]))
    assert "67" not in {r["program"] for r in rows}  # TimGM6mb's baritone sax has no sample at C6
    assert len(rows) == 7 and len(list((tmp_path / "audio").iterdir())) == 7


def test_bad_ranges_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MIDI numbers"):
        synthesize_notes(tmp_path, lowest=60, highest=50)
    with pytest.raises(ValueError, match="held"):
        synthesize_notes(tmp_path, held=2.0)
    with pytest.raises(ValueError, match="velocities"):
        synthesize_notes(tmp_path, velocities=[0])
