"""The notes corpus: single notes of the General-MIDI SoundFont's programs at every pitch and a few velocities, the
NSynth task (Engel et al., "Neural Audio Synthesis of Musical Notes with WaveNet Autoencoders", ICML 2017) rendered
from the SoundFont that ships in the pretty_midi wheel.

Split by program: within each instrument family the programs are shuffled and dealt to train, valid and test, so a
test note is always played by a timbre that no training note (and no pre-training clip, with `data.split: train`)
was played by. Labels: `pitch` (MIDI number), `family` (the General-MIDI family of 8 programs), `program` and
`velocity`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ssl_mir.data.render import Note, Score, render, resolve_backend
from ssl_mir.data.writing import map_in_workers, write_clip, write_manifest
from ssl_mir.progress import progress

log = logging.getLogger(__name__)

# The 16 General-MIDI families, 8 programs each, in program order.
GM_FAMILIES = ("piano", "chromatic_percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass", "reed",
               "pipe", "synth_lead", "synth_pad", "synth_effects", "ethnic", "percussive", "sound_effects")
PITCHED_FAMILIES = [f for f in GM_FAMILIES if f not in ("synth_effects", "percussive", "sound_effects")]
SILENT = 1e-4  # a rendered peak below this is a note the SoundFont has no sample for (the data checks' threshold)


def program_splits(families: list[str], seed: int) -> dict[int, str]:
    """Each family's 8 programs, shuffled by the seed: 6 to train, 1 to valid, 1 to test. {program: split}."""
    unknown = sorted(set(families) - set(GM_FAMILIES))
    if unknown:
        raise ValueError(f"unknown instrument families {unknown}; the General-MIDI ones are {list(GM_FAMILIES)}")
    rng = np.random.default_rng([seed, 2])
    splits: dict[int, str] = {}
    for family in families:
        first = 8 * GM_FAMILIES.index(family)
        order = rng.permutation(8)
        splits.update({first + int(p): s for p, s in zip(order, ["train"] * 6 + ["valid", "test"])})
    return splits


def synthesize_notes(out: str | Path, families: list[str] = PITCHED_FAMILIES,  # noqa: B006 (config default)
                     lowest: int = 36, highest: int = 84, velocities: list[int] = [50, 100],  # noqa: B006
                     duration: float = 1.0, held: float = 0.75, seed: int = 0, sample_rate: int = 16000,
                     backend: str = "auto", workers: int = 1) -> Path:
    """Write the notes corpus under `out`: `audio/*.wav` and `manifest.csv` (path, split, program, family, pitch,
    velocity), one clip per program × pitch × velocity that sounds (the SoundFont samples some programs over part of
    the range only; the silent ones are counted and left out, as NSynth keeps each instrument to its range). Returns
    the manifest's path.

    Args:
        out: output folder.
        families: General-MIDI families whose 8 programs are played (default: the 13 pitched ones).
        lowest: lowest MIDI pitch (36: C2).
        highest: highest MIDI pitch (84: C6).
        velocities: MIDI velocities of each note.
        duration: seconds per clip.
        held: seconds the key is held (the release follows).
        seed: the split of programs and the peak level of each clip.
        sample_rate: output rate.
        backend: "soundfont" (tinysoundfont), "numpy" (additive fallback) or "auto" (soundfont if installed).
        workers: processes that render (the files do not depend on it).
    """
    if not 0 <= lowest <= highest <= 127:
        raise ValueError(f"pitches {lowest}..{highest} must be MIDI numbers, lowest first")
    if not 0 < held <= duration:
        raise ValueError(f"held {held} s must lie in (0, duration {duration} s]")
    if not velocities or not all(1 <= v <= 127 for v in velocities):
        raise ValueError(f"velocities {velocities} must be MIDI velocities in 1..127")
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    backend, sf2 = resolve_backend(backend)
    splits = program_splits(families, seed)
    plan = [(program, pitch, velocity) for program in sorted(splits) for pitch in range(lowest, highest + 1)
            for velocity in velocities]
    jobs = [(out, seed, duration, held, sample_rate, backend, sf2, splits, list(enumerate(plan))[k: k + 256])
            for k in range(0, len(plan), 256)]
    chunks = map_in_workers(_render_chunk, jobs, workers)
    rows = [row for chunk in progress(chunks, f"synth: {len(plan)} notes, 256 per step", len(jobs)) for row in chunk]
    log.info("notes corpus: %d notes of %d programs under %s; %d silent (no sample at that pitch) left out", len(rows),
             len(splits), out, len(plan) - len(rows))
    return write_manifest(out / "manifest.csv", rows, ["path", "split", "program", "family", "pitch", "velocity"])


def _render_chunk(job: tuple) -> list[dict[str, str]]:
    """Render a chunk of notes (in a worker process); each clip's draws come from [seed, 3, its index]."""
    out, seed, duration, held, sample_rate, backend, sf2, splits, items = job
    rows = []
    for i, (program, pitch, velocity) in items:
        family = GM_FAMILIES[program // 8]
        score = Score(notes=[Note(0.0, held, pitch, velocity, 0)], programs={0: program})
        # the NumPy fallback knows a handful of timbres; every family falls back to the piano's
        audio = render(score, duration, sample_rate, backend, sf2, {0: "piano"}, np.random.default_rng([seed, 3, i]))
        if np.abs(audio).max() < SILENT:  # outside the range the SoundFont sampled this program in
            continue
        name = write_clip(out, f"audio/p{program:03d}_{pitch:03d}_{velocity:03d}.wav", audio, sample_rate)
        rows.append({"path": name, "split": splits[program], "program": str(program), "family": family,
                     "pitch": str(pitch), "velocity": str(velocity)})
    return rows
