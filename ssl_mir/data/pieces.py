"""The pieces corpus: excerpts of real compositions from the music21 corpus, rendered with a General-MIDI SoundFont.

The development benchmark of the framework (`ssl-mir synth --kind pieces`). Works of the music21 corpus are grouped
into style classes (`COLLECTIONS`); each work is split as a whole, so that no work is in two splits. Each excerpt
draws a transposition, a tempo, a start and a General-MIDI program per part (from `render.FAMILIES`), and is rendered
with TimGM6mb through tinysoundfont (or the NumPy fallback). Two pools:

- `manifest.csv`: the labeled set, split by work into train / valid / test, with the labels `collection` (style
  class), `key` (tonic and mode, after transposition: 24 classes), `mode` (major or minor), `tempo` (quarter notes
  per minute) and `ensemble` (the instrument families drawn, multilabel). The key is the one the score declares at
  the excerpt's start, a church mode counted by its third (dorian → minor, mixolydian → major; the declared mode is
  kept in the column `declared_mode`), or, where the score declares none, the Krumhansl-Schmuckler key of the
  excerpt's notes (`declared_mode` "analysed"); the column `transpose` holds the drawn transposition;
- `unlabeled.csv`: a pool of excerpts of other works, many times larger, for pre-training.

The collections the corpus also holds but that are not used here (Bach, Palestrina, Monteverdi, Beethoven, Haydn,
Mozart, the Essen and O'Neill folk songs, ...) are kept for an independent check. music21 is the optional extra
`ssl_mir[corpus]`. Scores are parsed from source: music21's pickle cache is neither read nor written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ssl_mir.data.keys import PITCH_CLASSES
from ssl_mir.data.render import FAMILIES, Note, Score

COLLECTIONS: dict[str, tuple[str, ...]] = {  # style class → music21 corpus folders
    "airds": ("airdsAirs",),
    "ryans": ("ryansMammoth",),
    "misc_folk": ("miscFolk",),
    "trecento": ("trecento", "ciconia", "luca"),
    "renaissance": ("josquin", "lusitano"),
    "common_practice": ("corelli", "handel", "cpebach", "schumann_robert", "schumann_clara", "schubert", "weber",
                        "chopin", "verdi", "joplin", "beach"),
}
TASKS = {"collection": "multiclass", "key": "multiclass", "mode": "multiclass", "tempo": "regression",
         "ensemble": "multilabel"}
QUALITY = {  # a mode → the quality of its third
           "major": "major", "ionian": "major", "lydian": "major", "mixolydian": "major",
           "minor": "minor", "aeolian": "minor", "dorian": "minor", "phrygian": "minor", "locrian": "minor"}
CHANNELS = [c for c in range(16) if c != 9]  # channel 9 is General MIDI's drum channel
MIN_NOTES = 4  # an excerpt with fewer sounding notes is drawn again


@dataclass(frozen=True)
class Work:
    """One composition: its style class and its movements, each a corpus file and, in a collection of tunes, the
    tune's reference number."""

    collection: str
    id: str
    movements: tuple[tuple[str, int | None], ...]


def corpus_root() -> Path:
    """The folder of the corpus inside the music21 package."""
    try:
        import music21
    except ImportError as e:
        raise ImportError("the pieces corpus needs music21: pip install 'ssl_mir[corpus]'") from e
    return Path(music21.__file__).parent / "corpus"


def index_works() -> list[Work]:
    """Every work of `COLLECTIONS`, in a fixed order. Each tune of an ABC collection is a work; the files of one
    sub-folder (the movements of an opus) are one work; any other file is one work."""
    root = corpus_root()
    works = []
    for collection, folders in COLLECTIONS.items():
        grouped: dict[str, list[tuple[str, int | None]]] = {}
        for folder in folders:
            for path in sorted((root / folder).rglob("*")):
                if path.suffix not in (".abc", ".xml", ".mxl", ".musicxml", ".krn"):
                    continue
                rel = path.relative_to(root).as_posix()
                numbers = _abc_tunes(path) if path.suffix == ".abc" else []
                if len(numbers) > 1:
                    for n in numbers:
                        grouped[f"{rel}#{n}"] = [(rel, n)]
                else:
                    parent = path.parent.relative_to(root).as_posix()
                    grouped.setdefault(parent if parent != folder else rel, []).append((rel, None))
        works += [Work(collection, key, tuple(movements)) for key, movements in grouped.items()]
    return works


def _abc_tunes(path: Path) -> list[int]:
    """The reference numbers of the tunes of an ABC file; none when its tunes are the voices of one piece (they all
    have the piece's title first, as Josquin's chansons in the corpus do)."""
    blocks = re.split(r"^X:", path.read_text(encoding="latin-1"), flags=re.M)[1:]
    titles = {(re.findall(r"^T:(.*)$", b, re.M) or [""])[0].strip() for b in blocks}
    return [int(b.split(maxsplit=1)[0]) for b in blocks] if len(titles) > 1 else []


def parse(source: str, number: int | None) -> Any:
    """A corpus file (one tune of it, for an ABC collection) as a music21 Score, from source, no pickle cache."""
    from music21 import converter

    parser = converter.Converter()
    parser.parseFile(corpus_root() / source, number=number, forceSource=True, storePickle=False)
    parsed = parser.stream
    return parsed.mergeScores() if hasattr(parsed, "scores") else parsed  # voices given as tunes → one score


@lru_cache(maxsize=8)
def movement(source: str, number: int | None) -> tuple[Any, list[list[tuple[float, float, list[int]]]]]:
    """A corpus movement parsed, with its `part_notes`: kept for the next excerpts of the same work (a work's
    excerpts are rendered together), since flattening and merging ties copies the whole score each time."""
    score = parse(source, number)
    return score, part_notes(score)


def part_notes(score: Any) -> list[list[tuple[float, float, list[int]]]]:
    """Per part, the sounding notes as (offset, duration, MIDI pitches) in quarter notes, ties merged; chord
    symbols, grace notes and unpitched notes are left out."""
    from music21 import harmony

    parts = list(score.parts) or [score]
    out = []
    for part in parts:
        notes = []
        for n in part.flatten().stripTies().notes:
            if isinstance(n, harmony.ChordSymbol) or n.quarterLength <= 0 or not hasattr(n, "pitches"):
                continue
            notes.append((float(n.offset), float(n.quarterLength), [p.midi for p in n.pitches]))
        if notes:
            out.append(notes)
    return out


def declared_key(score: Any, offset: float) -> tuple[int, str] | None:
    """(tonic pitch class, mode) of the last key the first part declares at or before `offset`, if it declares a
    mode; a bare key signature is not a key."""
    from music21 import key

    first = (list(score.parts) or [score])[0]
    keys = [k for k in first.flatten().getElementsByClass(key.KeySignature) if k.offset <= offset]
    if not keys or not isinstance(keys[-1], key.Key) or keys[-1].mode not in QUALITY:
        return None
    return keys[-1].tonic.pitchClass, keys[-1].mode


def analysed_key(notes: list[tuple[float, float, int]]) -> tuple[int, str]:
    """Krumhansl-Schmuckler key of (offset, duration, pitch) notes, via music21: (tonic pitch class, major|minor)."""
    from music21 import note, stream

    s = stream.Stream()
    for offset, duration, pitch in notes:
        s.insert(offset, note.Note(pitch, quarterLength=duration))
    k = s.analyze("key")
    return k.tonic.pitchClass, k.mode


def excerpt(score: Any, rng: np.random.Generator, duration: float,
            parts: list[list[tuple[float, float, list[int]]]] | None = None) -> tuple[Score, dict[str, str]]:
    """Draw an excerpt of a parsed score and its labels but `collection`: a transposition in [-5, 6] semitones, a
    tempo log-uniform in [60, 160] quarters per minute, a start on a quarter note and an instrument family and
    General-MIDI program per part; the notes come out in seconds. `parts`: the score's `part_notes`, where the
    caller has them."""
    parts = part_notes(score) if parts is None else parts
    if not parts:
        raise ValueError("the score has no sounding notes")
    length = max(o + d for notes in parts for o, d, _ in notes)  # quarters
    tempo = float(np.exp(rng.uniform(np.log(60.0), np.log(160.0))))
    window = duration * tempo / 60.0  # quarters
    transpose = int(rng.integers(-5, 7))
    families = [str(rng.choice(list(FAMILIES))) for _ in parts]
    programs = [int(rng.choice(FAMILIES[f])) for f in families]
    for _ in range(5):  # a start on a beat; drawn again where the window holds almost nothing
        start = float(np.floor(rng.uniform(0.0, max(length - 0.5 * window, 0.0))))
        window_notes = _window(parts, length, start, window)
        if sum(len(n) for n in window_notes) >= MIN_NOTES:
            break
    score_out = Score(programs={CHANNELS[i % len(CHANNELS)]: p for i, p in enumerate(programs)})
    seconds = 60.0 / tempo
    for i, notes in enumerate(window_notes):
        velocity = int(rng.integers(70, 101))
        for offset, dur, pitch in notes:
            score_out.notes.append(Note(offset * seconds, (offset + dur) * seconds, _in_range(pitch + transpose),
                                        int(np.clip(velocity + rng.integers(-8, 9), 1, 127)),
                                        CHANNELS[i % len(CHANNELS)]))
    declared = declared_key(score, start)
    tonic, mode = declared or analysed_key([n for ns in window_notes for n in ns])
    labels = {"key": f"{PITCH_CLASSES[(tonic + transpose) % 12]} {QUALITY[mode]}", "mode": QUALITY[mode],
              "declared_mode": mode if declared else "analysed", "transpose": str(transpose),
              "tempo": f"{tempo:.2f}", "ensemble": ";".join(sorted(set(families)))}
    return score_out, labels


def _window(parts: list[list[tuple[float, float, list[int]]]], length: float, start: float,
            window: float) -> list[list[tuple[float, float, int]]]:
    """Each part's notes that sound in [start, start + window), relative to start, the piece looped when it is
    shorter than the window (tunes are played again); one entry per pitch."""
    out = []
    for notes in parts:
        kept = []
        for loop in range(int(np.ceil((start + window) / length)) + 1):
            for offset, dur, pitches in notes:
                t = offset + loop * length - start
                if t + dur > 0 and t < window:
                    kept += [(max(t, 0.0), dur + min(t, 0.0), p) for p in pitches]
        out.append(kept)
    return out


def _in_range(pitch: int) -> int:
    """Octave-shift a MIDI pitch into [24, 108]."""
    while pitch < 24:
        pitch += 12
    while pitch > 108:
        pitch -= 12
    return pitch
