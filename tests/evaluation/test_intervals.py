"""Bootstrap intervals over test clips and paired differences: against closed forms on toy cases; shots subsets
identical across encoders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_mir.data.fractions import shot_subset
from ssl_mir.evaluation.budgets import Budget, budgets
from ssl_mir.evaluation.intervals import bootstrap_interval, interval_tables, paired_difference, resamples


def test_bootstrap_interval_of_an_accuracy_matches_the_normal_approximation() -> None:
    """One seed, K clips, p right: the bootstrap distribution of the mean has std sqrt(p(1-p)/K), so the 95 %
    interval is p ± 1.96 of it (the Wald interval) for a large K."""
    k, p = 2000, 0.3
    right = np.zeros(k)
    right[: int(p * k)] = 1
    interval = bootstrap_interval(right[None], resamples(k, 4000, seed=0))
    half = 1.96 * math.sqrt(p * (1 - p) / k)
    assert interval.mean == pytest.approx(p)
    assert interval.low == pytest.approx(p - half, abs=0.004)
    assert interval.high == pytest.approx(p + half, abs=0.004)


def test_paired_difference_cancels_what_both_share() -> None:
    """B is A with 30 of 600 wrong clips made right: on every resample B − A counts only those clips, never below 0,
    so the paired interval excludes 0 while the unpaired intervals of A and B overlap."""
    rng = np.random.default_rng(0)
    a = (rng.random(600) < 0.5).astype(float)
    b = a.copy()
    b[np.flatnonzero(a == 0)[:30]] = 1
    draws = resamples(600, 2000, seed=1)
    diff = paired_difference({0: b}, {0: a}, draws)
    assert diff is not None
    assert diff.mean == pytest.approx(0.05)
    assert 0 < diff.low <= 0.05 <= diff.high  # every clip changed only from wrong to right
    alone_a, alone_b = bootstrap_interval(a[None], draws), bootstrap_interval(b[None], draws)
    assert alone_b.low < alone_a.high  # the unpaired intervals overlap
    assert paired_difference({0: b}, {1: a}, draws) is None  # no shared seed, no pairing


def test_paired_difference_averages_over_seeds_clip_by_clip() -> None:
    a = {0: np.array([1.0, 0.0, 1.0, 1.0]), 1: np.array([0.0, 0.0, 1.0, 1.0])}
    b = {0: np.array([0.0, 0.0, 1.0, 0.0]), 1: np.array([0.0, 0.0, 0.0, 1.0]), 2: np.ones(4)}
    diff = paired_difference(a, b, resamples(4, 500, seed=0))
    assert diff is not None and diff.mean == pytest.approx(((3 - 1) / 4 + (2 - 1) / 4) / 2)


def test_interval_tables_mark_what_beats_a_baseline() -> None:
    rows = []
    for seed in (0, 1):
        for spec, outcome in (("runs/a/encoder", "1" * 90 + "0" * 10), ("mfcc", "1" * 40 + "0" * 60),
                              ("chroma", "1" * 89 + "0" * 11)):
            rows.append({"encoder": spec, "task": "key", "fraction": 0.0, "shots": 5, "seed": seed, "layer": "best",
                         "metric": "correct_by_clip", "value": outcome})
    text = "\n".join(interval_tables(rows))
    assert "| a@best | 0.900 [" in text
    assert "| a@best − mfcc@best | **+0.500 [" in text  # far above 0
    line = next(x for x in text.splitlines() if x.startswith("| a@best − chroma@best |"))
    assert "+0.010 [" in line and "**" not in line  # one clip of 100: not a win


def test_shots_are_the_same_clips_whoever_asks_and_nested() -> None:
    labels = np.repeat(np.arange(6), [3, 10, 10, 25, 40, 7])
    five = shot_subset(labels, 5, seed=4)
    assert five == shot_subset(labels, 5, seed=4)  # depends on labels, shots and seed only
    assert set(five) <= set(shot_subset(labels, 20, seed=4))
    counts = np.bincount(labels[five], minlength=6)
    assert counts.tolist() == [3, 5, 5, 5, 5, 5]  # a class with fewer keeps all
    assert five != shot_subset(labels, 5, seed=5)
    with pytest.raises(ValueError, match="at least 1"):
        shot_subset(labels, 0, seed=0)


def test_budgets_read_shots_first_then_fractions() -> None:
    assert [b.text for b in budgets([1.0, 0.1], [20, 1, 5])] == ["1 shot", "5 shots", "20 shots", "10%", "100%"]
    assert Budget(0, 0.01).text == "1%"


def test_label_shots_take_n_clips_per_class_of_a_multiclass_target_only(corpus: Path) -> None:
    from ssl_mir.data.datamodules import LabeledDataModule

    tasks = {"instrument": "multiclass", "tempo": "regression"}
    data = LabeledDataModule(str(corpus), tasks, target="instrument", chunk_samples=16000, num_workers=0)
    two = data.derive(label_shots=2, seed=1)
    labels = two.targets["train"]["instrument"][two.train_indices]
    assert torch.bincount(labels).max() == 2 and len(set(labels.tolist())) == len(data.tasks["instrument"].classes)
    assert data.derive(label_fraction=1.0).train_indices == list(range(len(data.splits["train"])))  # shots undone
    with pytest.raises(ValueError, match="counts clips per class of a multiclass target; 'tempo' is regression"):
        data.derive(target="tempo", label_shots=2).train_indices
    with pytest.raises(ValueError, match="label_shots must be at least 1"):
        data.derive(label_shots=0)
