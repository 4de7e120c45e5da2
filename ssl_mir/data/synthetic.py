"""The built-in corpus: procedural music-like clips with known labels, deterministic by seed.

Each clip is a short piece in a drawn key and tempo: a lead melody on a drawn instrument family, chords on another
family, and optionally a bass line and drums. Labels: `instrument` (lead family, multiclass), `key` (24 classes),
`instruments` (parts present, multilabel) and `tempo` (BPM, regression). Clips are rendered with real sampled
timbres from the General-MIDI SoundFont that ships in the pretty_midi wheel, through tinysoundfont; when
tinysoundfont is absent a pure-NumPy additive synthesiser renders the same score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ssl_mir.data.keys import PITCH_CLASSES
from ssl_mir.data.render import FAMILIES as GM_FAMILIES, KICK, Note, Score, family_of, render, resolve_backend
from ssl_mir.data.writing import write_clip, write_manifest
from ssl_mir.progress import progress

FAMILIES = {name: GM_FAMILIES[name] for name in ("piano", "organ", "guitar", "strings", "brass", "reed")}
BASS_PROGRAMS = [32, 33, 34, 38]
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = [[0, 3, 4, 0], [0, 5, 3, 4], [0, 4, 5, 3], [0, 3, 0, 4]]  # scale degrees of chord roots
SNARE, HAT = 38, 42
TASKS = {"instrument": "multiclass", "key": "multiclass", "instruments": "multilabel", "tempo": "regression"}


def compose(rng: np.random.Generator, duration: float) -> Score:
    """Draw a key, tempo, lead and chord families and optional bass and drums; write their notes."""
    tonic, minor = int(rng.integers(12)), bool(rng.integers(2))
    scale = MINOR if minor else MAJOR
    tempo = float(rng.uniform(70.0, 160.0))
    beat = 60.0 / tempo
    lead, chords = rng.choice(list(FAMILIES), size=2, replace=False)
    has_bass, has_drums = rng.random() < 0.6, rng.random() < 0.6
    score = Score(programs={0: int(rng.choice(FAMILIES[lead])), 1: int(rng.choice(FAMILIES[chords]))})
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]

    def pitch(degree: int, octave: int) -> int:
        return 12 * (octave + 1) + tonic + scale[degree % 7] + 12 * (degree // 7)

    n_beats = int(np.ceil(duration / beat))
    for b in range(n_beats):  # chords: a triad on every beat, one chord per bar
        root = progression[(b // 4) % 4]
        for d in (root, root + 2, root + 4):
            score.notes.append(Note(b * beat, (b + 0.9) * beat, pitch(d, 4), int(rng.integers(50, 75)), 1))
        if has_bass and b % 2 == 0:
            score.notes.append(Note(b * beat, (b + 1.8) * beat, pitch(root, 2), int(rng.integers(70, 100)), 2))
        if has_drums:
            score.notes.append(Note(b * beat, b * beat + 0.1, KICK if b % 2 == 0 else SNARE, 100, 9))
            for half in (0.0, 0.5):
                score.notes.append(Note((b + half) * beat, (b + half) * beat + 0.05, HAT, 60, 9))
    t, degree = 0.0, int(rng.integers(7))
    while t < duration:  # lead: a random walk on the scale in eighths and quarters
        length = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
        score.notes.append(Note(t, t + 0.95 * length, pitch(degree, 5), int(rng.integers(85, 120)), 0))
        t += length
    if has_bass:
        score.programs[2] = int(rng.choice(BASS_PROGRAMS))
    present = {lead, chords} | ({"bass"} if has_bass else set()) | ({"drums"} if has_drums else set())
    score.labels = {"instrument": str(lead), "key": f"{PITCH_CLASSES[tonic]} {'minor' if minor else 'major'}",
                    "instruments": ";".join(sorted(present)), "tempo": f"{tempo:.2f}"}
    return score


def synthesize(out: str | Path, n: int = 200, seed: int = 0, duration: float = 8.0, sample_rate: int = 16000,
               backend: str = "auto") -> Path:
    """Write `n` clips and `manifest.csv` (path, split, instrument, key, instruments, tempo) under `out`.

    Splits are 70/15/15 train/valid/test. The same seed writes the same files.

    Args:
        backend: "soundfont" (tinysoundfont), "numpy" (additive fallback) or "auto" (soundfont if installed).
    """
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    backend, sf2 = resolve_backend(backend)
    rng = np.random.default_rng(seed)
    splits = np.array(["train"] * n, dtype=object)
    order = rng.permutation(n)
    splits[order[: round(0.15 * n)]] = "valid"
    splits[order[round(0.15 * n): round(0.30 * n)]] = "test"
    scores = [compose(np.random.default_rng([seed, i]), duration) for i in range(n)]

    def classes(i: int) -> set[tuple[str, str]]:
        return {(t, scores[i].labels[t]) for t in ("instrument", "key")}

    seen = set().union(*(classes(i) for i in range(n) if splits[i] == "train"))
    for i in range(n):  # a class absent from training moves its clip to train: vocabularies come from train
        if not classes(i) <= seen:
            splits[i] = "train"
            seen |= classes(i)
    rows = []
    for i, score in enumerate(progress(scores, f"synth: {n} clips")):
        families = {0: score.labels["instrument"], 1: family_of(score.programs[1]), 2: "bass"}
        audio = render(score, duration, sample_rate, backend, sf2, families, np.random.default_rng([seed, i, 1]))
        name = write_clip(out, f"audio/clip_{i:05d}.wav", audio, sample_rate)
        rows.append({"path": name, "split": splits[i], **score.labels})
    return write_manifest(out / "manifest.csv", rows, ["path", "split", *TASKS])
