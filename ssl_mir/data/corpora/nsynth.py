"""NSynth (Engel et al., ICML 2017): 4-s single notes of 1,006 instruments, with its own train/valid/test split.

Tasks as in MARBLE and HEAR: the 11-way instrument family, and pitch as a MIDI-number classification.
"""

from __future__ import annotations

import json
from pathlib import Path

from ssl_mir.data.corpora.common import Corpus
from ssl_mir.data.manifest import Row

SPLIT_FOLDERS = {"train": "nsynth-train", "valid": "nsynth-valid", "test": "nsynth-test"}


def nsynth(root: str) -> Corpus:
    """NSynth → manifest with the multiclass tasks 'instrument_family' and 'pitch'.

    Args:
        root: the folder holding nsynth-train/, nsynth-valid/ and nsynth-test/, each with examples.json (note id →
            {instrument_family_str, pitch, …}) and audio/<note id>.wav.
    """
    rows = []
    for split, folder in SPLIT_FOLDERS.items():
        examples = Path(root) / folder / "examples.json"
        if not examples.is_file():
            raise FileNotFoundError(f"NSynth: {examples} not found")
        for note, meta in json.loads(examples.read_text()).items():
            missing = [k for k in ("instrument_family_str", "pitch") if k not in meta]
            if missing:
                raise ValueError(f"{examples}: note '{note}' has no {missing}")
            audio = Path(root) / folder / "audio" / f"{note}.wav"
            if not audio.is_file():
                raise FileNotFoundError(f"NSynth: {audio} (listed in {examples}) not found")
            rows.append(Row(str(audio.resolve()), split,
                            {"instrument_family": str(meta["instrument_family_str"]), "pitch": str(meta["pitch"])}))
    return Corpus("NSynth", rows, {"instrument_family": "multiclass", "pitch": "multiclass"})
