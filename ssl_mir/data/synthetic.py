"""The built-in corpus: procedural music-like clips with known labels, deterministic by seed.

Each clip is a short piece in a drawn key and tempo: a lead melody on a drawn instrument family, chords on another
family, and optionally a bass line and drums. Labels: `instrument` (lead family, multiclass), `key` (24 classes),
`instruments` (parts present, multilabel) and `tempo` (BPM, regression). Clips are rendered with real sampled
timbres from the General-MIDI SoundFont that ships in the pretty_midi wheel, through tinysoundfont; when
tinysoundfont is absent a pure-NumPy additive synthesiser renders the same score.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from ssl_mir.data.keys import PITCH_CLASSES

FAMILIES: dict[str, list[int]] = {  # lead/chord families → General-MIDI programs (0-based)
    "piano": [0, 1, 2, 4],
    "organ": [16, 17, 19, 20],
    "guitar": [24, 25, 26, 27],
    "strings": [40, 41, 42, 48],
    "brass": [56, 57, 60, 61],
    "reed": [64, 65, 68, 71],
}
BASS_PROGRAMS = [32, 33, 34, 38]
MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = [[0, 3, 4, 0], [0, 5, 3, 4], [0, 4, 5, 3], [0, 3, 0, 4]]  # scale degrees of chord roots
KICK, SNARE, HAT = 36, 38, 42
TASKS = {"instrument": "multiclass", "key": "multiclass", "instruments": "multilabel", "tempo": "regression"}


@dataclass
class Note:
    start: float
    end: float
    pitch: int
    velocity: int
    channel: int


@dataclass
class Score:
    """A clip's notes, channel programs (channel 9 is drums) and labels."""

    notes: list[Note] = field(default_factory=list)
    programs: dict[int, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


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


def soundfont_path() -> str | None:
    """TimGM6mb.sf2 from the pretty_midi wheel, if installed."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
    return path if os.path.isfile(path) else None


def render_soundfont(score: Score, duration: float, sample_rate: int, sf2: str) -> np.ndarray:
    """Render with tinysoundfont; returns (S,) float32."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(sf2)
    for channel, program in score.programs.items():
        synth.program_select(channel, sfid, 0, program)
    synth.program_select(9, sfid, 128, 0, is_drums=True)
    events = sorted([(n.start, 1, n) for n in score.notes] + [(n.end, 0, n) for n in score.notes],
                    key=lambda e: (e[0], e[1]))
    total = int(duration * sample_rate)
    out, done = [], 0
    for time, is_on, note in events:
        at = min(int(time * sample_rate), total)
        if at > done:
            out.append(np.frombuffer(synth.generate(at - done), dtype=np.float32).reshape(-1, 2))
            done = at
        if is_on:
            synth.noteon(note.channel, note.pitch, note.velocity)
        else:
            synth.noteoff(note.channel, note.pitch)
    if total > done:
        out.append(np.frombuffer(synth.generate(total - done), dtype=np.float32).reshape(-1, 2))
    return np.concatenate(out).mean(axis=1)


# Additive timbres of the fallback: harmonic amplitudes and (attack, decay per second) of each family.
TIMBRES: dict[str, tuple[np.ndarray, float, float]] = {
    "piano": (1.0 / np.arange(1, 9) ** 1.5, 0.005, 3.0),
    "organ": (np.array([1.0, 0.8, 0.6, 0.5, 0.1, 0.3, 0.05, 0.2]), 0.02, 0.0),
    "guitar": (1.0 / np.arange(1, 9) ** 2.0, 0.002, 5.0),
    "strings": (1.0 / np.arange(1, 9), 0.15, 0.2),
    "brass": (np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]), 0.05, 0.5),
    "reed": (np.array([1.0, 0.05, 0.6, 0.05, 0.4, 0.05, 0.2, 0.05]), 0.03, 0.3),
    "bass": (np.array([1.0, 0.5, 0.1, 0.05, 0, 0, 0, 0]), 0.01, 1.5),
}


def render_numpy(score: Score, duration: float, sample_rate: int, families: dict[int, str],
                 rng: np.random.Generator) -> np.ndarray:
    """Render with the additive fallback; `families` maps channel → timbre name. Returns (S,) float32."""
    out = np.zeros(int(duration * sample_rate), dtype=np.float64)
    for n in score.notes:
        a, b = int(n.start * sample_rate), min(int(n.end * sample_rate), out.size)
        if b <= a:
            continue
        t = np.arange(b - a) / sample_rate
        gain = n.velocity / 127.0
        if n.channel == 9:  # drums: a pitched thump for the kick, noise bursts otherwise
            tone = np.sin(2 * np.pi * 60 * t) if n.pitch == KICK else rng.standard_normal(t.size) * 0.5
            out[a:b] += gain * tone * np.exp(-t * 30)
            continue
        harmonics, attack, decay = TIMBRES[families[n.channel]]
        f0 = 440.0 * 2 ** ((n.pitch - 69) / 12)
        ks = np.arange(1, len(harmonics) + 1)
        keep = ks * f0 < sample_rate / 2
        wave = (harmonics[keep, None] * np.sin(2 * np.pi * f0 * ks[keep, None] * t)).sum(0)
        out[a:b] += gain * wave * np.minimum(t / attack, 1.0) * np.exp(-decay * t) * 0.3
    return out.astype(np.float32)


def synthesize(out: str | Path, n: int = 200, seed: int = 0, duration: float = 8.0, sample_rate: int = 16000,
               backend: str = "auto") -> Path:
    """Write `n` clips and `manifest.csv` (path, split, instrument, key, instruments, tempo) under `out`.

    Splits are 70/15/15 train/valid/test. The same seed writes the same files.

    Args:
        backend: "soundfont" (tinysoundfont), "numpy" (additive fallback) or "auto" (soundfont if installed).
    """
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    sf2 = soundfont_path()
    if backend == "auto":
        try:
            import tinysoundfont  # noqa: F401

            backend = "soundfont" if sf2 else "numpy"
        except ImportError:
            backend = "numpy"
    if backend == "soundfont" and not sf2:
        raise RuntimeError("the soundfont backend needs pretty_midi's TimGM6mb.sf2 and tinysoundfont")
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
    for i, score in enumerate(scores):
        clip_rng = np.random.default_rng([seed, i, 1])
        if backend == "soundfont":
            audio = render_soundfont(score, duration, sample_rate, sf2)  # type: ignore[arg-type]
        else:
            families = {0: score.labels["instrument"], 1: _chord_family(score), 2: "bass"}
            audio = render_numpy(score, duration, sample_rate, families, clip_rng)
        audio = audio / (np.abs(audio).max() + 1e-9) * clip_rng.uniform(0.3, 0.9)
        name = f"audio/clip_{i:05d}.wav"
        sf.write(out / name, audio.astype(np.float32), sample_rate, subtype="PCM_16")
        rows.append({"path": name, "split": splits[i], **score.labels})
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", *TASKS])
        writer.writeheader()
        writer.writerows(rows)
    return out / "manifest.csv"


def _chord_family(score: Score) -> str:
    program = score.programs[1]
    return next(name for name, programs in FAMILIES.items() if program in programs)
