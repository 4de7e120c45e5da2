"""GiantSteps key: electronic dance music excerpts labeled with one of 24 keys.

The protocol of Korzeniowski & Widmer (2017), used by MARBLE: train on GiantSteps-MTG-key (Faraldo et al. 2017)
excerpts annotated with full confidence, hold out a seeded share of them for validation, and test on the 604
two-minute excerpts of the GiantSteps key dataset (Knees et al., ISMIR 2015). Enharmonic spellings become one class
('Db major' = 'C# major'); the weighted MIREX key score is reported beside accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ssl_mir.data.corpora.common import Corpus, audio_files, missing_error
from ssl_mir.data.keys import canonical_key
from ssl_mir.data.manifest import Row


def giantsteps(test_root: str, train_root: str, valid_fraction: float = 0.1, min_confidence: int = 2,
               seed: int = 0) -> Corpus:
    """GiantSteps key (test) and GiantSteps-MTG-key (train, valid) → manifest with the multiclass task 'key'.

    Args:
        test_root: giantsteps-key-dataset: audio/<id>.mp3 and annotations/key/<id>.key holding e.g. 'Eb minor'.
        train_root: giantsteps-mtg-key-dataset: audio/<id>.mp3 and annotations/annotations.txt, tab-separated
            lines of id, key and confidence (0–2); a header line is allowed.
        valid_fraction: share of the usable training excerpts held out for validation (seeded).
        min_confidence: training excerpts annotated with less confidence are left out.
        seed: draws the validation excerpts.
    """
    left_out = {"key not one of the 24 (e.g. '-', or two keys)": 0, f"confidence below {min_confidence}": 0}
    test_audio = audio_files(Path(test_root) / "audio")
    rows = []
    for clip, path in test_audio.items():
        annotation = Path(test_root) / "annotations" / "key" / f"{clip}.key"
        if not annotation.is_file():
            raise FileNotFoundError(f"GiantSteps key: {annotation} (for {path}) not found")
        key = canonical_key(annotation.read_text().strip())
        if key is None:
            left_out["key not one of the 24 (e.g. '-', or two keys)"] += 1
            continue
        rows.append(Row(str(path.resolve()), "test", {"key": key}))
    train = _mtg_annotations(Path(train_root), min_confidence, left_out)
    train_audio = audio_files(Path(train_root) / "audio")
    missing = [c for c in train if c not in train_audio]
    if missing:
        raise missing_error("GiantSteps-MTG-key", missing, Path(train_root) / "audio")
    order = np.random.default_rng(seed).permutation(len(train))
    n_valid = max(1, round(valid_fraction * len(train)))
    for rank, (clip, key) in zip(np.argsort(order), train.items()):
        rows.append(Row(str(train_audio[clip].resolve()), "valid" if rank < n_valid else "train", {"key": key}))
    return Corpus("GiantSteps key", rows, {"key": "multiclass"}, left_out)


def _mtg_annotations(root: Path, min_confidence: int, left_out: dict[str, int]) -> dict[str, str]:
    """clip id → canonical key of the usable GiantSteps-MTG-key annotations; counts the rest in `left_out`."""
    path = root / "annotations" / "annotations.txt"
    if not path.is_file():
        raise FileNotFoundError(f"GiantSteps-MTG-key: {path} not found")
    keys: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) < 3 or not fields[2].isdigit():  # the header, or a malformed line
            if number > 1 and line.strip():
                raise ValueError(f"{path}:{number}: expected 'id<TAB>key<TAB>confidence', got {line!r}")
            continue
        key = canonical_key(fields[1])
        if key is None:
            left_out["key not one of the 24 (e.g. '-', or two keys)"] += 1
        elif int(fields[2]) < min_confidence:
            left_out[f"confidence below {min_confidence}"] += 1
        else:
            keys[fields[0]] = key
    return keys
