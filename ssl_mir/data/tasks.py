"""Task: what a label column means (multiclass, multilabel or regression) and its vocabulary."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ssl_mir.augment.policy import default_changes_with
from ssl_mir.data.manifest import MULTILABEL_SEP, Manifest, TaskKind


@dataclass(frozen=True)
class Task:
    """A label column of the manifest.

    The vocabulary (`classes`) comes from the training split only, so that a label seen only in validation or test
    is an error rather than a silently untrained output. Regression targets are learned standardised with the
    training split's `mean` and `std`, and reported in their own units.

    `changes_with` declares the properties of the music the label depends on ("pitch" for a key, "tempo" for a
    tempo): the task is not invariant to them, so augmentations that alter them are refused (`augment.policy`).
    """

    name: str
    kind: TaskKind
    classes: tuple[str, ...] = ()
    mean: float = 0.0
    std: float = 1.0
    changes_with: frozenset[str] = frozenset()

    @property
    def num_outputs(self) -> int:
        return 1 if self.kind == "regression" else len(self.classes)

    @classmethod
    def from_manifest(cls, name: str, kind: TaskKind, train: Manifest,
                      changes_with: frozenset[str] | None = None) -> Task:
        """The task over the training split; `changes_with` defaults to what the name says (`augment.policy`)."""
        props = default_changes_with(name) if changes_with is None else changes_with
        if kind != "multilabel":  # an empty multilabel cell means "none of the classes"
            train.require_column(name)
        if kind == "regression":
            values = torch.tensor([float(r.labels[name]) for r in train.rows])
            return cls(name, kind, mean=float(values.mean()), std=float(values.std(unbiased=False)) or 1.0,
                       changes_with=props)
        values: set[str] = set()
        for row in train.rows:
            values.update(split_labels(row.labels.get(name, "")) if kind == "multilabel" else [row.labels[name]])
        if len(values) < 2:
            raise ValueError(f"{train.source}: task '{name}' has {len(values)} class(es) in training; need at least 2")
        return cls(name, kind, tuple(sorted(values)), changes_with=props)

    def encode(self, value: str, where: str) -> torch.Tensor:
        """One label value → target tensor: class index (long), multi-hot (float) or a float.

        Args:
            value: the manifest's raw string.
            where: the file, for the error message.
        """
        if self.kind == "regression":
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"{where}: task '{self.name}' expects a number, got '{value}'") from None
            if not math.isfinite(number):
                raise ValueError(f"{where}: task '{self.name}' has a non-finite value '{value}'")
            return torch.tensor(number, dtype=torch.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        labels = split_labels(value) if self.kind == "multilabel" else [value]
        unknown = [v for v in labels if v not in index]
        if unknown:
            raise ValueError(
                f"{where}: unknown label(s) {unknown} for task '{self.name}'; the training split knows {list(self.classes)}"
            )
        if self.kind == "multiclass":
            return torch.tensor(index[value], dtype=torch.long)
        hot = torch.zeros(len(self.classes))
        hot[[index[v] for v in labels]] = 1.0
        return hot

    def encode_rows(self, manifest: Manifest) -> torch.Tensor:
        """Targets for every row: (N,) long, (N, C) float or (N,) float."""
        if self.kind != "multilabel":
            manifest.require_column(self.name)
        return torch.stack([self.encode(r.labels.get(self.name, ""), r.path) for r in manifest.rows])

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy, binary cross-entropy or MSE on standardised targets. output: (B, num_outputs)."""
        if self.kind == "multiclass":
            return F.cross_entropy(output.float(), target)
        if self.kind == "multilabel":
            return F.binary_cross_entropy_with_logits(output.float(), target.float())
        return F.mse_loss(output.float().squeeze(-1), (target.float() - self.mean) / self.std)

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """Network output → what metrics read: logits, or the regression value in its own units."""
        if self.kind == "regression":
            return output.float().squeeze(-1) * self.std + self.mean
        return output.float()


def split_labels(value: str) -> list[str]:
    """A multilabel cell's labels (`;`-separated, blanks dropped)."""
    return [v.strip() for v in value.split(MULTILABEL_SEP) if v.strip()]
