"""How sure a comparison is: bootstrap intervals over test clips, and paired differences between encoders.

Efron & Tibshirani, "An Introduction to the Bootstrap" (1993), percentile intervals; for comparing two systems on one
test set, the paired bootstrap (Koehn, EMNLP 2004; Dror et al., ACL 2018): both are scored on the same resampled test
clips, so the clips' difficulty, which they share, cancels. A cell's accuracy is the mean over seeds of each seed's
test accuracy; one resample of the test clips serves every seed and both encoders. "A beats B" means the 95 %
interval of A − B lies above 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ssl_mir.evaluation.baselines import HANDCRAFTED, RANDOM_PREFIX, SUPERVISED_PREFIX
from ssl_mir.evaluation.budgets import Budget, budget_of, order
from ssl_mir.evaluation.journal import CORRECT_BY_CLIP, Result
from ssl_mir.evaluation.report import encoder_label

Outcomes = dict[tuple[str, str, str, Budget], dict[int, np.ndarray]]  # (spec, layer, task, budget) → seed → (K,)


class Interval(NamedTuple):
    """A mean and its percentile interval."""

    mean: float
    low: float
    high: float

    def text(self, signed: bool = False) -> str:
        sign = "+" if signed else ""
        return f"{self.mean:{sign}.3f} [{self.low:{sign}.3f}, {self.high:{sign}.3f}]"


def outcomes(results: list[Result]) -> Outcomes:
    """Each multiclass cell's per-clip outcomes (1: correct), by encoder, layer, task, budget and seed."""
    found: Outcomes = {}
    for r in results:
        if r["metric"] == CORRECT_BY_CLIP:
            key = (str(r["encoder"]), str(r["layer"]), str(r["task"]), budget_of(r))
            found.setdefault(key, {})[int(r["seed"])] = np.array([c == "1" for c in str(r["value"])], dtype=float)  # type: ignore[arg-type]
    return found


def resamples(n_clips: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_clips) indices of test clips drawn with replacement: the same draws for every cell of a task."""
    return np.random.default_rng(seed).integers(0, n_clips, (n_boot, n_clips))


def bootstrap_interval(per_seed: np.ndarray, draws: np.ndarray, level: float = 0.95) -> Interval:
    """The mean over seeds of the mean over clips of `per_seed` (S, K), and its percentile interval over the
    resampled clips `draws` (n_boot, K)."""
    boot = per_seed[:, draws].mean(axis=2).mean(axis=0)  # (n_boot,)
    tail = (1 - level) / 2 * 100
    return Interval(float(per_seed.mean()), float(np.percentile(boot, tail)), float(np.percentile(boot, 100 - tail)))


def paired_difference(a: dict[int, np.ndarray], b: dict[int, np.ndarray], draws: np.ndarray,
                      level: float = 0.95) -> Interval | None:
    """A − B over the seeds both have (the same training subsets), clip by clip: None when they share no seed."""
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    return bootstrap_interval(np.stack([a[s] - b[s] for s in seeds]), draws, level)


def is_baseline(spec: str) -> bool:
    return spec in HANDCRAFTED or spec.startswith((RANDOM_PREFIX, SUPERVISED_PREFIX))


def interval_tables(results: list[Result], n_boot: int = 2000, seed: int = 0) -> list[str]:
    """Markdown, per multiclass task: accuracy with its 95 % interval per encoder and budget; then each encoder
    that is not a baseline against each baseline, paired, the difference in bold where its interval lies above 0."""
    found = outcomes(results)
    tables = []
    for task in dict.fromkeys(t for _, _, t, _ in found):
        cells = {k: v for k, v in found.items() if k[2] == task}
        columns = sorted({b for _, _, _, b in cells}, key=order)
        n_clips = len(next(iter(next(iter(cells.values())).values())))
        draws = resamples(n_clips, n_boot, seed)
        rows = list(dict.fromkeys((s, layer) for s, layer, _, _ in cells))
        head = "| encoder | " + " | ".join(b.text for b in columns) + " |\n|---|" + "---:|" * len(columns)
        lines = [f"### {task}: accuracy, mean over seeds [95 % bootstrap interval over the {n_clips} test clips]",
                 "", head]
        for spec, layer in rows:
            texts = [bootstrap_interval(np.stack(list(cells[spec, layer, task, b].values())), draws).text()
                     if (spec, layer, task, b) in cells else "-" for b in columns]
            lines.append(f"| {encoder_label(spec, layer)} | " + " | ".join(texts) + " |")
        pairs = [(a, b) for a in rows if not is_baseline(a[0]) for b in rows if is_baseline(b[0])]
        if pairs:
            lines += ["", f"### {task}: paired difference in accuracy, encoder − baseline [95 % interval]; bold: "
                          "the interval lies above 0", "", head.replace("| encoder |", "| encoder − baseline |")]
            for a, b in pairs:
                texts = []
                for budget in columns:
                    diff = None
                    if (*a, task, budget) in cells and (*b, task, budget) in cells:
                        diff = paired_difference(cells[(*a, task, budget)], cells[(*b, task, budget)], draws)
                    texts.append("-" if diff is None else f"**{diff.text(True)}**" if diff.low > 0
                                 else diff.text(True))
                lines.append(f"| {encoder_label(*a)} − {encoder_label(*b)} | " + " | ".join(texts) + " |")
        tables.append("\n".join(lines))
    return tables
