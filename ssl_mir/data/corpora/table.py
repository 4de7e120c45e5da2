"""Any CSV or TSV table of a corpus: name which columns hold the path, the split and the labels."""

from __future__ import annotations

import csv
from pathlib import Path

from ssl_mir.data.corpora.common import SPLIT_NAMES, Corpus
from ssl_mir.data.manifest import MULTILABEL_SEP, Row, TaskKind


def table(path: str, tasks: dict[str, TaskKind], path_column: str = "path", split_column: str = "split",
          audio_root: str | None = None, label_sep: str = MULTILABEL_SEP) -> Corpus:
    """A table with one row per file → manifest.

    Args:
        path: the .csv (comma) or .tsv (tab) file.
        tasks: label column → kind; the manifest keeps the column names.
        path_column: column holding each file's path, relative to `audio_root`.
        split_column: column holding train / val(id)(ation) / test.
        audio_root: folder the paths are relative to (default: the table's folder).
        label_sep: separator of multilabel values in this table (';' in the manifest).
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"table not found: {source}")
    with open(source, newline="", encoding="utf-8-sig") as f:  # spreadsheets often write a byte-order mark
        records = list(csv.DictReader(f, delimiter="\t" if source.suffix == ".tsv" else ","))
    needed = [path_column, split_column, *tasks]
    absent = [c for c in needed if records and c not in records[0]]
    if not records or absent:
        raise ValueError(f"{source}: missing column(s) {absent or needed} (found {list(records[0]) if records else []})")
    root = Path(audio_root) if audio_root else source.parent
    rows = []
    for line, record in enumerate(records, start=2):
        split = SPLIT_NAMES.get(record[split_column].strip().lower())
        if split is None:
            raise ValueError(f"{source}:{line}: split '{record[split_column]}' is not train, valid or test")
        labels = {t: (MULTILABEL_SEP.join(v.strip() for v in record[t].split(label_sep))
                      if kind == "multilabel" else record[t].strip()) for t, kind in tasks.items()}
        file = root / record[path_column].strip()
        if not file.is_file():
            raise FileNotFoundError(f"{source}:{line}: audio file {file} not found")
        rows.append(Row(str(file.resolve()), split, labels))
    return Corpus(source.name, rows, dict(tasks))
