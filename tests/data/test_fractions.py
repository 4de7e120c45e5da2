from __future__ import annotations

import numpy as np
import pytest

from ssl_mir.data.fractions import label_subset
from ssl_mir.data.manifest import Manifest


def test_multiclass_subset_is_stratified_and_keeps_every_class() -> None:
    labels = np.repeat(np.arange(5), [100, 50, 20, 5, 1])
    keep = label_subset(labels, len(labels), 0.1, seed=0)
    kept = np.bincount(labels[keep], minlength=5)
    assert kept.tolist() == [10, 5, 2, 1, 1]  # round(0.1 n), at least one per class
    assert keep == label_subset(labels, len(labels), 0.1, seed=0) != label_subset(labels, len(labels), 0.1, seed=1)


def test_multilabel_subset_keeps_rare_tags_and_their_share() -> None:
    rng = np.random.default_rng(0)
    rates = np.array([0.5, 0.2, 0.05, 0.01])
    hot = (rng.random((1000, 4)) < rates).astype(np.float32)
    hot[:3, 3] = 1.0  # a rare tag: about 13 examples
    keep = label_subset(hot, len(hot), 0.1, seed=0)
    assert len(keep) == 100 and len(set(keep)) == 100
    share = hot[keep].sum(0) / hot.sum(0)
    assert (hot[keep].sum(0) >= 1).all()
    assert np.all(np.abs(share[:3] - 0.1) < 0.03), share
    assert keep == label_subset(hot, len(hot), 0.1, seed=0) != label_subset(hot, len(hot), 0.1, seed=1)


def test_unstratified_and_full_subsets() -> None:
    assert label_subset(None, 10, 1.0, seed=3) == list(range(10))
    assert len(label_subset(None, 10, 0.25, seed=3)) == 3
    with pytest.raises(ValueError, match="in \\(0, 1\\], got 1.5"):
        label_subset(None, 10, 1.5, seed=0)


def _works(n_works: int = 40, per_work: int = 3) -> Manifest:
    from ssl_mir.data.manifest import Row

    rows = [Row(f"w{w}_{k}.wav", "train", {"work": f"w{w}", "genre": "ab"[w % 2] if w < 30 else "c"})
            for w in range(n_works) for k in range(per_work)]
    return Manifest([*rows, Row("t.wav", "test", {"work": "t", "genre": "a"})], "works.csv")


def test_valid_is_carved_by_whole_groups_stratified_and_seeded() -> None:
    from ssl_mir.data.fractions import carve_valid

    carved = carve_valid(_works(), 0.2, "work", "genre", seed=3)
    valid = [r for r in carved.rows if r.split == "valid"]
    train = [r for r in carved.rows if r.split == "train"]
    assert not {r.labels["work"] for r in valid} & {r.labels["work"] for r in train}  # no work in two splits
    per_genre = {g: len({r.labels["work"] for r in valid if r.labels["genre"] == g}) for g in "abc"}
    assert per_genre == {"a": 3, "b": 3, "c": 2}  # 20 % of the 15, 15 and 10 works of each genre
    assert [r for r in carved.rows if r.split == "test"] == [r for r in _works().rows if r.split == "test"]
    assert carve_valid(_works(), 0.2, "work", "genre", seed=3).rows == carved.rows
    assert carve_valid(_works(), 0.2, "work", "genre", seed=4).rows != carved.rows
    rows_only = carve_valid(_works(), 0.2, None, None, seed=0)
    assert sum(r.split == "valid" for r in rows_only.rows) == 24  # 20 % of 120 rows, each its own group
    with pytest.raises(ValueError, match="group_column 'artist' is not a column"):
        carve_valid(_works(), 0.2, "artist", "genre")


def test_a_corpus_without_valid_is_probed_with_a_carved_one(corpus, tmp_path) -> None:
    import csv

    from ssl_mir.data.datamodules import LabeledDataModule

    with open(corpus) as f:
        rows = [{**r, "path": str(corpus.parent / r["path"])} for r in csv.DictReader(f) if r["split"] != "valid"]
    manifest = tmp_path / "no_valid.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    common = {"tasks": {"instrument": "multiclass"}, "chunk_samples": 16000, "num_workers": 0}
    with pytest.raises(ValueError, match=r"no rows for \['valid'\].*--data.valid_fraction"):
        LabeledDataModule(str(manifest), **common).splits
    data = LabeledDataModule(str(manifest), valid_fraction=0.25, **common)
    splits = data.splits
    assert len(splits["valid"].rows) > 0 and len(splits["train"].rows) + len(splits["valid"].rows) == len(
        [r for r in rows if r["split"] == "train"])
    assert {r.labels["instrument"] for r in splits["valid"].rows} <= {r.labels["instrument"] for r in splits["train"].rows}
