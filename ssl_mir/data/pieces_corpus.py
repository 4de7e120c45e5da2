"""The pieces corpus on disk: which works go to which split and pool, and the rendered clips with their manifests.

See `data.pieces` for what an excerpt is. Every draw is a function of the seed and the excerpt's place in the
corpus, so the same seed writes the same files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_mir.data.pieces import COLLECTIONS, TASKS, Work, excerpt, index_works, movement
from ssl_mir.data.render import family_of, render, resolve_backend
from ssl_mir.data.writing import map_in_workers, write_clip, write_manifest
from ssl_mir.progress import progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    """One excerpt to render: its work, its split ("train", "valid", "test" or "unlabeled") and its file stem."""

    work: Work
    split: str
    name: str


VALID_SHARE, TEST_SHARE = 0.15, 0.25  # of a class's labeled works; the rest train


def assign(works: list[Work], seed: int, n_labeled: int, n_unlabeled: int,
           labeled_works: int) -> list[Assignment]:
    """Split by work. Per style class, up to `labeled_works` works (and no more than its share of `n_labeled`) are
    drawn for the labeled set and split 60/15/25 into train/valid/test, at least one work each (a test split of
    hundreds of excerpts from well over a hundred works, so that a key accuracy is known to a few points); the
    class's share of the labeled excerpts is dealt round-robin over them. Every other work goes to the unlabeled
    pool, which deals `n_unlabeled` excerpts round-robin over its shuffled works."""
    rng = np.random.default_rng([seed, 0])
    per_class = n_labeled // len(COLLECTIONS)
    if per_class < 3:
        raise ValueError(f"n_labeled {n_labeled} gives {per_class} excerpts per class; a split by work needs at "
                         f"least 3 per class ({3 * len(COLLECTIONS)} in all)")
    out: list[Assignment] = []
    pool: list[Work] = []
    for collection in COLLECTIONS:
        members = [w for w in works if w.collection == collection]
        members = [members[i] for i in rng.permutation(len(members))]
        n = min(labeled_works, per_class, len(members))
        if n < 3:
            raise ValueError(f"collection {collection!r} has {len(members)} works; a split by work needs 3")
        chosen, rest = members[:n], members[n:]
        pool += rest
        n_valid, n_test = max(1, round(VALID_SHARE * n)), max(1, round(TEST_SHARE * n))
        splits = ["train"] * (n - n_valid - n_test) + ["valid"] * n_valid + ["test"] * n_test
        out += [Assignment(chosen[k % n], splits[k % n], f"{collection}_{k:04d}") for k in range(per_class)]
    if n_unlabeled and not pool:
        raise ValueError("no works are left for the unlabeled pool; lower labeled_works")
    pool = [pool[i] for i in rng.permutation(len(pool))]
    out += [Assignment(pool[k % len(pool)], "unlabeled", f"pool_{k:05d}") for k in range(n_unlabeled)]
    return out


def synthesize_pieces(out: str | Path, n_labeled: int = 3000, n_unlabeled: int = 30000, labeled_works: int = 200,
                      seed: int = 0, duration: float = 6.0, sample_rate: int = 16000,
                      backend: str = "auto", workers: int = 1) -> Path:
    """Write the pieces corpus under `out`: `audio/*.wav`, `manifest.csv` (the labeled set: path, split, work,
    collection, key, mode, tempo, ensemble, declared_mode, transpose) and `unlabeled.csv` (the pool: path, work). Returns the labeled
    manifest's path.

    Args:
        out: output folder.
        n_labeled: labeled excerpts, an equal share per style class.
        n_unlabeled: excerpts of the unlabeled pool, from works that are not in the labeled set.
        labeled_works: at most this many works per class in the labeled set.
        seed: the same seed writes the same files.
        duration: seconds per excerpt.
        sample_rate: output rate.
        backend: "soundfont" (tinysoundfont), "numpy" (additive fallback) or "auto" (soundfont if installed).
        workers: processes that parse and render (the files do not depend on it).
    """
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    backend, sf2 = resolve_backend(backend)
    plan = assign(index_works(), seed, n_labeled, n_unlabeled, labeled_works)
    order = sorted(range(len(plan)), key=lambda i: (plan[i].work.id, i))  # a work's excerpts together: parsed once
    jobs = [(out, seed, duration, sample_rate, backend, sf2, [(i, plan[i]) for i in order[k: k + 64]])
            for k in range(0, len(order), 64)]
    chunks = map_in_workers(_render_chunk, jobs, workers)
    rows = dict(kv for chunk in progress(chunks, f"synth: {len(plan)} excerpts, 64 per step", len(jobs))
                for kv in chunk)
    labeled = [rows[i] for i in range(len(plan)) if plan[i].split != "unlabeled"]
    unlabeled = [{"path": rows[i]["path"], "work": rows[i]["work"]} for i in range(len(plan))
                 if plan[i].split == "unlabeled"]
    write_manifest(out / "unlabeled.csv", unlabeled, ["path", "work"])
    log.info("pieces corpus: %d labeled and %d unlabeled excerpts under %s", len(labeled), len(unlabeled), out)
    return write_manifest(out / "manifest.csv", labeled, ["path", "split", "work", *TASKS, "declared_mode", "transpose"])


def _render_chunk(job: tuple) -> list[tuple[int, dict[str, str]]]:
    """Render a chunk of assignments (in a worker process); each excerpt's draws come from [seed, 1, its index]."""
    out, seed, duration, sample_rate, backend, sf2, items = job
    rows = []
    for i, a in items:
        rng = np.random.default_rng([seed, 1, i])
        score, parts = movement(*a.work.movements[int(rng.integers(len(a.work.movements)))])
        score, labels = excerpt(score, rng, duration, parts)
        families = {channel: family_of(program) for channel, program in score.programs.items()}
        audio = render(score, duration, sample_rate, backend, sf2, families, rng)
        name = write_clip(out, f"audio/{a.name}.wav", audio, sample_rate)
        rows.append((i, {"path": name, "split": a.split, "work": a.work.id, "collection": a.work.collection,
                         **labels}))
    return rows
