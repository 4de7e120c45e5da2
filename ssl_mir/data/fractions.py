"""Seeded label-fraction and shots-per-class subsets of a training split: stratified, with every class kept.

Multiclass subsets are stratified per class. Multilabel subsets use iterative stratification (Sechidis, Tsoumakas &
Vlahavas, "On the Stratification of Multi-Label Data", ECML PKDD 2011): the rarest label is served first, so rare
tags keep their share. In both, every class seen in training keeps at least one example. The subset depends only on
the labels, the fraction and the seed, so every encoder and baseline of a comparison sees the same clips.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ssl_mir.data.manifest import Manifest


def label_subset(labels: np.ndarray | None, n: int, fraction: float, seed: int) -> list[int]:
    """Sorted indices of the kept training rows.

    Args:
        labels: (N,) class indices (multiclass), (N, C) multi-hot (multilabel), or None (no stratification).
        n: number of rows.
        fraction: share to keep, in (0, 1].
        seed: the draw.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction}")
    if fraction >= 1.0:
        return list(range(n))
    rng = np.random.default_rng(seed)
    if labels is None:
        return sorted(rng.permutation(n)[: max(1, math.ceil(fraction * n))].tolist())
    if labels.ndim == 1:
        keep: list[int] = []
        for c in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == c))
            keep.extend(members[: max(1, round(fraction * len(members)))].tolist())
        return sorted(keep)
    return _iterative(labels.astype(bool), fraction, rng)


def shot_subset(labels: np.ndarray, shots: int, seed: int) -> list[int]:
    """Sorted indices of `shots` rows per class of `labels` (N,) class indices, drawn per class with the seed; a
    class with fewer rows keeps them all. Depends on the labels, the shots and the seed only, so every encoder of a
    comparison sees the same clips; the draws are nested: the 5 shots of a seed are among its 20."""
    if shots < 1:
        raise ValueError(f"shots must be at least 1 per class, got {shots}")
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for c in np.unique(labels):
        keep.extend(rng.permutation(np.flatnonzero(labels == c))[:shots].tolist())
    return sorted(keep)


def _iterative(hot: np.ndarray, fraction: float, rng: np.random.Generator) -> list[int]:
    """Iterative stratification into two folds, kept (share `fraction`) and the rest."""
    n = len(hot)
    share = np.array([fraction, 1.0 - fraction])
    want = share[:, None] * hot.sum(0)[None, :]  # (2, C) examples each fold still wants per label
    want_total = share * n
    fold = np.full(n, -1)
    order = rng.permutation(n)  # seeded order of examples, and tie-breaks

    def assign(i: int, label: int | None) -> None:
        wants = want_total if label is None else want[:, label]
        best = np.flatnonzero(wants == wants.max())
        if len(best) > 1:
            best = best[want_total[best] == want_total[best].max()]
        f = int(best[0]) if len(best) == 1 else int(rng.choice(best))
        fold[i] = f
        want[f, hot[i]] -= 1
        want_total[f] -= 1

    while True:
        left = (hot & (fold < 0)[:, None]).sum(0)
        if not left.any():
            break
        label = int(np.flatnonzero(left == left[left > 0].min())[0])  # the rarest label not yet placed
        for i in order:
            if fold[i] < 0 and hot[i, label]:
                assign(int(i), label)
    for i in order:  # examples without any label
        if fold[i] < 0:
            assign(int(i), None)
    for label in np.flatnonzero(hot.any(0) & ~hot[fold == 0].any(0)):  # every class keeps one example
        fold[next(i for i in order if hot[i, label])] = 0
    return sorted(np.flatnonzero(fold == 0).tolist())


def carve_valid(manifest: Manifest, fraction: float, group_column: str | None, label_column: str | None,
                seed: int = 0) -> Manifest:
    """`manifest` with a share `fraction` of its training rows moved to a 'valid' split, for corpora that ship
    none: whole groups (rows with the same `group_column` value, such as a work or an artist, so that none straddles
    two splits; each row its own group without one), stratified by each group's most frequent `label_column` value
    (every class with two groups or more gives at least one), seeded."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"data.valid_fraction must be in (0, 1), got {fraction}")
    train = [i for i, r in enumerate(manifest.rows) if r.split == "train"]
    if group_column is not None and any(group_column not in manifest.rows[i].labels for i in train):
        raise ValueError(f"{manifest.source}: data.group_column '{group_column}' is not a column of every training row")
    members: dict[str, list[int]] = {}
    for i in train:
        members.setdefault(manifest.rows[i].labels[group_column] if group_column else str(i), []).append(i)
    by_class: dict[str, list[str]] = {}
    for group, rows in members.items():
        values = [manifest.rows[i].labels.get(label_column, "") for i in rows] if label_column else [""]
        by_class.setdefault(max(sorted(set(values)), key=values.count), []).append(group)
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for label in sorted(by_class):
        groups = [by_class[label][j] for j in rng.permutation(len(by_class[label]))]
        take = min(len(groups) - 1, max(1, round(fraction * len(groups)))) if len(groups) > 1 else 0
        chosen.update(i for g in groups[:take] for i in members[g])
    if not chosen:
        raise ValueError(f"{manifest.source}: data.valid_fraction {fraction} leaves no training group for validation")
    rows = [replace(r, split="valid") if i in chosen else r for i, r in enumerate(manifest.rows)]
    return Manifest(rows, manifest.source)
