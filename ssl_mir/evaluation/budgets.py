"""Label budgets: a fraction of the training split, or a number of clips (shots) per class.

A result row carries both fields: `fraction` (0 for a shots budget) and `shots` (0 for a fraction budget). Few-shot
budgets compare encoders where labels are scarce at the same clips per class whatever the corpus's class balance;
fractions follow it.
"""

from __future__ import annotations

from typing import NamedTuple

from ssl_mir.data.labeled import LabeledDataModule


class Budget(NamedTuple):
    """Shots per class (0: a fraction budget), or the fraction of the training split."""

    shots: int
    fraction: float

    @property
    def text(self) -> str:
        """'5 shots', '1 shot' or '10%'."""
        if self.shots:
            return f"{self.shots} shot{'s' if self.shots > 1 else ''}"
        return f"{self.fraction:.0%}"

    def subset(self, data: LabeledDataModule, seed: int) -> LabeledDataModule:
        """`data` restricted to this budget's training clips for `seed`."""
        if self.shots:
            return data.derive(label_shots=self.shots, seed=seed)
        return data.derive(label_fraction=self.fraction, seed=seed)


def budgets(fractions: list[float], shots: list[int]) -> list[Budget]:
    """A sweep's budgets in reading order: shots per class, increasing, then fractions, increasing."""
    return sorted([Budget(0, f) for f in fractions] + [Budget(s, 0.0) for s in shots], key=order)


def order(budget: Budget) -> tuple[bool, int, float]:
    """Sort key: shots budgets first (fewest first), then fractions."""
    return budget.shots == 0, budget.shots, budget.fraction


def budget_of(row: dict[str, object]) -> Budget:
    """The budget of a result row (rows written before shots existed have none: a fraction)."""
    return Budget(int(row.get("shots", 0) or 0), float(row["fraction"]))  # type: ignore[arg-type]
