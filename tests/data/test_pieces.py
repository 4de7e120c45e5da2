"""The pieces corpus: deterministic by seed, split by work, labels that match the score and its transposition."""

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("music21", reason="the pieces corpus needs the corpus extra")  # installed by make test

from ssl_mir.data.keys import PITCH_CLASSES  # noqa: E402
from ssl_mir.data.pieces import COLLECTIONS, Work, excerpt, part_notes  # noqa: E402
from ssl_mir.data.pieces_corpus import assign, synthesize_pieces  # noqa: E402


def _read(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same seed twice (one of them in two processes) and another seed: 18 labeled and 6 unlabeled excerpts."""
    root = tmp_path_factory.mktemp("pieces")
    kwargs = dict(n_labeled=18, n_unlabeled=6, duration=1.5)
    return {"a": synthesize_pieces(root / "a", seed=0, **kwargs),
            "b": synthesize_pieces(root / "b", seed=0, workers=2, **kwargs),
            "c": synthesize_pieces(root / "c", seed=1, **kwargs)}


def test_same_seed_same_corpus(corpora: dict[str, Path]) -> None:
    a, b, c = (_read(corpora[k]) for k in "abc")
    assert a == b != c
    assert _read(corpora["a"].parent / "unlabeled.csv") == _read(corpora["b"].parent / "unlabeled.csv")
    for row in a + _read(corpora["a"].parent / "unlabeled.csv"):
        x, sr = sf.read(corpora["a"].parent / row["path"])
        y, _ = sf.read(corpora["b"].parent / row["path"])
        np.testing.assert_array_equal(x, y)
        assert sr == 16000 and len(x) == 24000 and np.isfinite(x).all() and 0.2 < np.abs(x).max() <= 0.9


def test_no_work_in_two_splits_or_pools(corpora: dict[str, Path]) -> None:
    rows = _read(corpora["a"])
    split_of: dict[str, set[str]] = {}
    for r in rows:
        split_of.setdefault(r["work"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    pool = {r["work"] for r in _read(corpora["a"].parent / "unlabeled.csv")}
    assert pool and not pool & set(split_of)
    for collection in COLLECTIONS:  # 3 excerpts per class, one work in each split
        assert sorted(r["split"] for r in rows if r["collection"] == collection) == ["test", "train", "valid"]


def test_labels(corpora: dict[str, Path]) -> None:
    for r in _read(corpora["a"]):
        tonic, quality = r["key"].split()
        assert tonic in PITCH_CLASSES and quality == r["mode"] in ("major", "minor")
        assert 60 <= float(r["tempo"]) <= 160 and -5 <= int(r["transpose"]) <= 6
        assert r["ensemble"] and r["declared_mode"]


def _abc_score(key: str, notes: str) -> object:
    from music21 import converter

    return converter.parse(f"X:1\nT:t\nM:4/4\nL:1/4\nK:{key}\n{notes}|\n", format="abc")


@pytest.mark.parametrize("seed", range(6))
def test_key_follows_the_transposition(seed: int) -> None:
    """A tune declared in D dorian: the key label is the transposed tonic with a minor third, and every sounding
    note is the score's note moved by the drawn transposition."""
    score = _abc_score("Ddor", "D E F G A B c d c B A G F E D2 " * 2)
    out, labels = excerpt(score, np.random.default_rng(seed), duration=3.0)
    t = int(labels["transpose"])
    assert labels["key"] == f"{PITCH_CLASSES[(2 + t) % 12]} minor"
    assert labels["mode"] == "minor" and labels["declared_mode"] == "dorian"
    written = {p % 12 for _, _, ps in part_notes(score)[0] for p in ps}
    assert {n.pitch % 12 for n in out.notes} <= {(p + t) % 12 for p in written}
    assert len(out.notes) >= 4 and all(0 <= n.start < n.end for n in out.notes)


def test_key_is_analysed_where_the_score_declares_no_mode() -> None:
    """A bare key signature declares no mode: the excerpt's own notes (C major arpeggios and a cadence) give it."""
    from music21 import key, note, stream

    part = stream.Part([key.KeySignature(0)])
    for name in "C4 E4 G4 C5 G4 E4 C4 F4 A4 C5 A4 G4 B4 D5 B4 C4 E4 G4 C5".split() * 2:
        part.append(note.Note(name, quarterLength=1.0))
    score = stream.Score([part])
    out, labels = excerpt(score, np.random.default_rng(0), duration=4.0)
    assert labels["declared_mode"] == "analysed"
    assert labels["key"] == f"{PITCH_CLASSES[int(labels['transpose']) % 12]} major"


def test_assign_splits_by_work_and_refuses_too_few_works() -> None:
    works = [Work(c, f"{c}/{i}", ((f"{c}/{i}.abc", None),)) for c in COLLECTIONS for i in range(12)]
    plan = assign(works, seed=0, n_labeled=120, n_unlabeled=30, labeled_works=8)
    labeled = [a for a in plan if a.split != "unlabeled"]
    assert len(labeled) == 120 and len(plan) == 150
    assert {a.work.id for a in labeled}.isdisjoint({a.work.id for a in plan if a.split == "unlabeled"})
    for c in COLLECTIONS:
        mine = [a for a in labeled if a.work.collection == c]
        assert len({a.work.id for a in mine}) == 8 and len(mine) == 20
        works_in = {s: len({a.work.id for a in mine if a.split == s}) for s in ("train", "valid", "test")}
        assert works_in == {"train": 5, "valid": 1, "test": 2}  # 60/15/25 of 8 works, rounded
    assert plan == assign(works, seed=0, n_labeled=120, n_unlabeled=30, labeled_works=8)
    with pytest.raises(ValueError, match="collection 'airds' has 2 works"):
        assign([w for w in works if w.collection != "airds" or w.id in ("airds/0", "airds/1")], 0, 120, 30, 8)
    with pytest.raises(ValueError, match="at least 3 per class"):
        assign(works, 0, 12, 30, 8)
