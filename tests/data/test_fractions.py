import numpy as np
import pytest

from ssl_mir.data.fractions import label_subset


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
