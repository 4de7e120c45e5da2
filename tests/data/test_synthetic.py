import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ssl_mir.data.synthetic import FAMILIES, TASKS, synthesize


def _read(manifest: Path) -> list[dict[str, str]]:
    with open(manifest) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("backend", ["numpy", "soundfont"])
def test_same_seed_same_corpus(tmp_path: Path, backend: str) -> None:
    a = synthesize(tmp_path / "a", n=6, seed=3, duration=2.0, backend=backend)
    b = synthesize(tmp_path / "b", n=6, seed=3, duration=2.0, backend=backend)
    c = synthesize(tmp_path / "c", n=6, seed=4, duration=2.0, backend=backend)
    assert _read(a) == _read(b) != _read(c)
    for row in _read(a):
        x, sr = sf.read(a.parent / row["path"])
        y, _ = sf.read(b.parent / row["path"])
        assert sr == 16000 and len(x) == 32000
        np.testing.assert_array_equal(x, y)
        assert 0.2 < np.abs(x).max() <= 0.9 and np.isfinite(x).all()


def test_labels_are_consistent(tmp_path: Path) -> None:
    rows = _read(synthesize(tmp_path, n=40, seed=0, duration=1.0, backend="numpy"))
    assert set(rows[0]) == {"path", "split", *TASKS}
    assert {r["split"] for r in rows} == {"train", "valid", "test"}
    assert sum(r["split"] == "train" for r in rows) >= 28
    for r in rows:
        assert r["instrument"] in FAMILIES
        assert r["instrument"] in r["instruments"].split(";")
        assert r["key"].split()[1] in ("major", "minor")
        assert 70 <= float(r["tempo"]) <= 160
    assert len({r["instrument"] for r in rows}) == len(FAMILIES)
