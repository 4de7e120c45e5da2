"""Scores to audio: notes on General-MIDI programs, rendered with a SoundFont through tinysoundfont, or with a pure
NumPy additive synthesiser when tinysoundfont is absent. Both corpora (`data.synthetic`, `data.pieces`) render here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

FAMILIES: dict[str, list[int]] = {  # instrument families → General-MIDI programs (0-based)
    "piano": [0, 1, 2, 4],
    "organ": [16, 17, 19, 20],
    "guitar": [24, 25, 26, 27],
    "strings": [40, 41, 42, 48],
    "brass": [56, 57, 60, 61],
    "reed": [64, 65, 68, 71],
    "pipe": [72, 73, 74, 75],
}
DRUM_CHANNEL = 9
KICK = 36

# Additive timbres of the fallback: harmonic amplitudes and (attack, decay per second) of each family.
TIMBRES: dict[str, tuple[np.ndarray, float, float]] = {
    "piano": (1.0 / np.arange(1, 9) ** 1.5, 0.005, 3.0),
    "organ": (np.array([1.0, 0.8, 0.6, 0.5, 0.1, 0.3, 0.05, 0.2]), 0.02, 0.0),
    "guitar": (1.0 / np.arange(1, 9) ** 2.0, 0.002, 5.0),
    "strings": (1.0 / np.arange(1, 9), 0.15, 0.2),
    "brass": (np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]), 0.05, 0.5),
    "reed": (np.array([1.0, 0.05, 0.6, 0.05, 0.4, 0.05, 0.2, 0.05]), 0.03, 0.3),
    "pipe": (np.array([1.0, 0.3, 0.1, 0.05, 0.02, 0, 0, 0]), 0.04, 0.1),
    "bass": (np.array([1.0, 0.5, 0.1, 0.05, 0, 0, 0, 0]), 0.01, 1.5),
}


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


def family_of(program: int) -> str:
    """The family a General-MIDI program belongs to."""
    return next(name for name, programs in FAMILIES.items() if program in programs)


def soundfont_path() -> str | None:
    """TimGM6mb.sf2 from the pretty_midi wheel, if installed."""
    try:
        import pretty_midi
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")
    return path if os.path.isfile(path) else None


def resolve_backend(backend: str) -> tuple[str, str | None]:
    """"auto" → "soundfont" when tinysoundfont and the SoundFont are installed, else "numpy"; returns the backend and
    the SoundFont path. An explicit "soundfont" without them is an error."""
    sf2 = soundfont_path()
    if backend == "auto":
        try:
            import tinysoundfont  # noqa: F401

            backend = "soundfont" if sf2 else "numpy"
        except ImportError:
            backend = "numpy"
    if backend not in ("soundfont", "numpy"):
        raise ValueError(f"backend must be auto, soundfont or numpy, got {backend!r}")
    if backend == "soundfont" and not sf2:
        raise RuntimeError("the soundfont backend needs pretty_midi's TimGM6mb.sf2 and tinysoundfont")
    return backend, sf2


def render_soundfont(score: Score, duration: float, sample_rate: int, sf2: str) -> np.ndarray:
    """Render with tinysoundfont; returns (S,) float32."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    sfid = synth.sfload(sf2)
    for channel, program in score.programs.items():
        synth.program_select(channel, sfid, 0, program)
    synth.program_select(DRUM_CHANNEL, sfid, 128, 0, is_drums=True)
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
        if n.channel == DRUM_CHANNEL:  # drums: a pitched thump for the kick, noise bursts otherwise
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


def render(score: Score, duration: float, sample_rate: int, backend: str, sf2: str | None,
           families: dict[int, str], rng: np.random.Generator) -> np.ndarray:
    """Render on a resolved backend and scale to a peak drawn in [0.3, 0.9]. (S,) float32."""
    if backend == "soundfont":
        audio = render_soundfont(score, duration, sample_rate, sf2)  # type: ignore[arg-type]
    else:
        audio = render_numpy(score, duration, sample_rate, families, rng)
    return (audio / (np.abs(audio).max() + 1e-9) * rng.uniform(0.3, 0.9)).astype(np.float32)
