"""GTZAN genre (Tzanetakis & Cook 2002) with the fault-filtered split.

Sturm (2013) found repeated, distorted and mislabeled clips in GTZAN; Kereliuk, Sturm & Larsen (2015) published a
split without them (443 train, 197 valid, 290 test clips), so that an artist never spans two splits. It is the split
MARBLE and most music SSL papers report. The split lists are the user's (e.g. train_filtered.txt, valid_filtered.txt,
test_filtered.txt); the clips they leave out are not in the manifest.
"""

from __future__ import annotations

from pathlib import Path

from ssl_mir.data.corpora.common import Corpus, audio_files, missing_error, read_split_lists
from ssl_mir.data.manifest import Row

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


def gtzan(root: str, split_dir: str) -> Corpus:
    """GTZAN → manifest with the multiclass task 'genre'.

    Args:
        root: the corpus folder, holding <genre>.<NNNNN>.au or .wav files at any depth (e.g. genres/blues/).
        split_dir: the fault-filtered split lists, one clip per line ('blues/blues.00012.wav' or 'blues.00012').
    """
    files = audio_files(root)
    splits = read_split_lists(split_dir)
    missing = [c for c in splits if c not in files]
    if missing:
        raise missing_error("GTZAN", missing, root)
    rows = []
    for clip, split in splits.items():
        genre = clip.split(".")[0]
        if genre not in GENRES:
            raise ValueError(f"{files[clip]}: '{genre}' is not a GTZAN genre {GENRES}")
        rows.append(Row(str(Path(files[clip]).resolve()), split, {"genre": genre}))
    return Corpus("GTZAN", rows, {"genre": "multiclass"},
                  {"not in the fault-filtered split": len(files) - len(rows)})
