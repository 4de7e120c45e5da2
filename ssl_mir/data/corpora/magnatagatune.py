"""MagnaTagATune (Law et al., ISMIR 2009): 25,863 clips of about 29 s with 188 crowd-sourced tags.

The usual benchmark keeps the 50 most frequent tags (Dieleman & Schrauwen 2014; Pons et al. 2017; Won et al. 2020)
and reports macro ROC-AUC and average precision. The split comes from the user's lists, e.g. Pons et al.'s
train_gt_mtt.tsv / val_gt_mtt.tsv / test_gt_mtt.tsv or Won et al.'s train.npy / valid.npy / test.npy; both lead each
line with the clip id.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ssl_mir.data.corpora.common import Corpus, missing_error, read_split_lists
from ssl_mir.data.manifest import MULTILABEL_SEP, Row

ANNOTATIONS = "annotations_final.csv"


def magnatagatune(root: str, split_dir: str, top: int = 50) -> Corpus:
    """MagnaTagATune → manifest with the multilabel task 'tags' over the `top` most frequent tags.

    Args:
        root: the corpus folder: annotations_final.csv (tab-separated: clip_id, one 0/1 column per tag, mp3_path)
            and the audio under mp3/ (or beside the annotations), at the relative paths of mp3_path.
        split_dir: the split lists (see data.corpora.common.read_split_lists); clips in no list are left out.
        top: how many of the most frequent tags (over all clips) make the vocabulary.
    """
    root_path = Path(root)
    annotations = root_path / ANNOTATIONS
    if not annotations.is_file():
        raise FileNotFoundError(f"MagnaTagATune: {annotations} not found")
    with open(annotations, newline="") as f:
        records = list(csv.DictReader(f, delimiter="\t"))
    columns = list(records[0]) if records else []
    if "clip_id" not in columns or "mp3_path" not in columns:
        raise ValueError(f"{annotations}: expected tab-separated columns clip_id, <tags>, mp3_path; found {columns[:4]}")
    tags = [c for c in columns if c not in ("clip_id", "mp3_path")]
    counts = {t: sum(r[t] == "1" for r in records) for t in tags}
    vocabulary = sorted(sorted(tags, key=lambda t: (-counts[t], t))[:top])
    audio_root = root_path / "mp3" if (root_path / "mp3").is_dir() else root_path
    splits = read_split_lists(split_dir)
    by_id = {r["clip_id"]: r for r in records}
    unknown = [c for c in splits if c not in by_id]
    if unknown:
        raise ValueError(f"{split_dir}: {len(unknown)} clip id(s) are not in {annotations}, e.g. {unknown[:3]}")
    missing = [c for c in splits if not (audio_root / by_id[c]["mp3_path"]).is_file()]
    if missing:
        raise missing_error("MagnaTagATune", missing, audio_root)
    rows = [Row(str((audio_root / by_id[c]["mp3_path"]).resolve()), split,
                {"tags": MULTILABEL_SEP.join(t for t in vocabulary if by_id[c][t] == "1")})
            for c, split in splits.items()]
    return Corpus("MagnaTagATune", rows, {"tags": "multilabel"}, {"in no split list": len(records) - len(rows)})
