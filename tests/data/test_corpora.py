"""Corpus adapters on tiny generated replicas of each corpus's layout, through `ssl-mir manifest`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ssl_mir.cli import main
from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.data.manifest import Manifest


def noise(path: Path, seconds: float = 1.0, sr: int = 16000, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.1 * np.random.default_rng(len(str(path))).standard_normal(int(seconds * sr)).astype(np.float32)
    sf.write(path, x, sr, format=fmt)
    return path


def convert(*args: object) -> dict[str, dict]:
    """Run `ssl-mir manifest`, read the manifest back: path name → (split, labels)."""
    main(["manifest", *map(str, args)])
    out = Path(str(args[args.index("--out") + 1]))
    return {Path(r.path).name: {"split": r.split, **r.labels} for r in Manifest.load(out).rows}


def test_gtzan_keeps_only_the_fault_filtered_split(tmp_path: Path) -> None:
    genres = ["blues", "rock"]
    for g in genres:
        for i in range(4):
            noise(tmp_path / "genres" / g / f"{g}.{i:05d}.au", fmt="AU")
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "train_filtered.txt").write_text("blues/blues.00000.wav\nblues/blues.00001.wav\nrock/rock.00000.wav\n"
                                               "rock/rock.00001.wav\n")
    (splits / "valid_filtered.txt").write_text("blues.00002\nrock.00002\n")
    (splits / "test_filtered.txt").write_text("blues/blues.00003.wav\n")  # rock.00003 is a faulty clip
    rows = convert("gtzan", "--root", tmp_path / "genres", "--split_dir", splits, "--out", tmp_path / "m.csv")
    assert len(rows) == 7 and "rock.00003.au" not in rows
    assert rows["blues.00003.au"] == {"split": "test", "genre": "blues"}
    assert rows["rock.00002.au"] == {"split": "valid", "genre": "rock"}
    data = LabeledDataModule(str(tmp_path / "m.csv"), {"genre": "multiclass"}, chunk_samples=8000, num_workers=0)
    assert data.target_task.classes == ("blues", "rock") and len(data.chunk_dataset("train")) == 8

    (splits / "test_filtered.txt").write_text("blues/blues.00099.wav\n")
    with pytest.raises(ValueError, match=r"GTZAN: 1 clip\(s\) of the split lists have no audio .*blues.00099"):
        convert("gtzan", "--root", tmp_path / "genres", "--split_dir", splits, "--out", tmp_path / "m.csv")


def test_magnatagatune_top_tags_and_a_user_split(tmp_path: Path) -> None:
    tags = ["guitar", "rock", "piano", "quiet"]
    hot = {"1": [1, 1, 0, 0], "2": [1, 0, 1, 1], "3": [0, 0, 1, 1], "4": [1, 1, 0, 0], "5": [0, 0, 0, 1],
           "6": [1, 0, 0, 0]}  # counts: guitar 4, quiet 3, piano 2, rock 2
    lines = ["\t".join(["clip_id", *tags, "mp3_path"])]
    for clip, values in hot.items():
        lines.append("\t".join([clip, *map(str, values), f"{int(clip) % 2}/track-{clip}.mp3"]))
        noise(tmp_path / "mtt" / "mp3" / str(int(clip) % 2) / f"track-{clip}.mp3", fmt="MP3")
    (tmp_path / "mtt" / "annotations_final.csv").write_text("\n".join(lines) + "\n")
    split = tmp_path / "split"
    split.mkdir()
    np.save(split / "train.npy", np.array(["1\t1/track-1.mp3", "2\t0/track-2.mp3", "4\t0/track-4.mp3"]))
    np.save(split / "valid.npy", np.array(["3\t1/track-3.mp3"]))
    np.save(split / "test.npy", np.array(["5\t1/track-5.mp3"]))
    rows = convert("magnatagatune", "--root", tmp_path / "mtt", "--split_dir", split, "--top", "3",
                   "--out", tmp_path / "m.csv")
    assert len(rows) == 5 and "track-6.mp3" not in rows
    assert rows["track-2.mp3"] == {"split": "train", "tags": "guitar;piano;quiet"}  # rock is not in the top 3
    assert rows["track-1.mp3"]["tags"] == "guitar"
    data = LabeledDataModule(str(tmp_path / "m.csv"), {"tags": "multilabel"}, chunk_samples=8000, num_workers=0)
    assert data.target_task.classes == ("guitar", "piano", "quiet")
    assert data.split_targets("test")["tags"].tolist() == [[0.0, 0.0, 1.0]]

    (split / "test.tsv").write_text("77\t['rock']\n")  # Pons et al.'s layout, with an id the annotations lack
    with pytest.raises(ValueError, match=r"1 clip id\(s\) are not in .*annotations_final.csv, e.g. \['77'\]"):
        convert("magnatagatune", "--root", tmp_path / "mtt", "--split_dir", split, "--out", tmp_path / "m.csv")


def test_nsynth_family_and_pitch(tmp_path: Path) -> None:
    for split, notes in [("train", {"bass_synthetic_000-060-100": ("bass", 60), "guitar_acoustic_001-064-075":
                                    ("guitar", 64)}),
                         ("valid", {"bass_synthetic_002-060-050": ("bass", 60)}),
                         ("test", {"guitar_acoustic_003-064-127": ("guitar", 64)})]:
        folder = tmp_path / "nsynth" / f"nsynth-{split}"
        for note in notes:
            noise(folder / "audio" / f"{note}.wav", seconds=4.0)
        (folder / "examples.json").write_text(json.dumps(
            {n: {"instrument_family_str": f, "pitch": p, "velocity": 100} for n, (f, p) in notes.items()}))
    rows = convert("nsynth", "--root", tmp_path / "nsynth", "--out", tmp_path / "m.csv")
    assert rows["guitar_acoustic_003-064-127.wav"] == {"split": "test", "instrument_family": "guitar", "pitch": "64"}
    data = LabeledDataModule(str(tmp_path / "m.csv"), {"instrument_family": "multiclass", "pitch": "multiclass"},
                             chunk_samples=16000, num_workers=0)
    assert data.tasks["pitch"].classes == ("60", "64")

    (tmp_path / "nsynth" / "nsynth-test" / "audio" / "guitar_acoustic_003-064-127.wav").unlink()
    with pytest.raises(FileNotFoundError, match="guitar_acoustic_003-064-127.wav .*not found"):
        convert("nsynth", "--root", tmp_path / "nsynth", "--out", tmp_path / "m.csv")


def test_giantsteps_key_with_mtg_training_excerpts(tmp_path: Path) -> None:
    test_root, train_root = tmp_path / "giantsteps-key-dataset", tmp_path / "giantsteps-mtg-key-dataset"
    for clip, key in [("10089.LOFI", "Eb minor"), ("10090.LOFI", "A major"), ("10091.LOFI", "-")]:
        noise(test_root / "audio" / f"{clip}.mp3", fmt="MP3")
        (test_root / "annotations" / "key").mkdir(parents=True, exist_ok=True)
        (test_root / "annotations" / "key" / f"{clip}.key").write_text(key + "\n")
    lines = ["ID\tMANUAL KEY\tC\tGENRE"]
    for i, (key, confidence) in enumerate([("D# minor", 2), ("A major", 2), ("C major", 1), ("Bb minor", 2),
                                            ("A minor / C major", 2), ("F major", 2)] * 2):
        noise(train_root / "audio" / f"{500 + i}.LOFI.mp3", fmt="MP3")
        lines.append(f"{500 + i}.LOFI\t{key}\t{confidence}\tTechno")
    (train_root / "annotations").mkdir(parents=True)
    (train_root / "annotations" / "annotations.txt").write_text("\n".join(lines) + "\n")
    rows = convert("giantsteps", "--test_root", test_root, "--train_root", train_root, "--valid_fraction", "0.25",
                   "--out", tmp_path / "m.csv")
    assert rows["10089.LOFI.mp3"] == {"split": "test", "key": "D# minor"}  # Eb minor, spelled canonically
    assert "10091.LOFI.mp3" not in rows and "502.LOFI.mp3" not in rows and "504.LOFI.mp3" not in rows
    splits = [r["split"] for name, r in rows.items() if not name.startswith("100")]
    assert (splits.count("train"), splits.count("valid")) == (6, 2)
    assert {r["key"] for r in rows.values()} == {"D# minor", "A major", "A# minor", "F major"}


def test_generic_table_with_its_own_column_names(tmp_path: Path) -> None:
    for i in range(3):
        noise(tmp_path / "audio" / f"{i}.flac")
    (tmp_path / "meta.tsv").write_text("file\tpartition\tmood\tbpm\n0.flac\ttrain\thappy|calm\t120\n"
                                       "1.flac\tValidation\tsad\t90.5\n2.flac\ttest\tcalm\t100\n")
    rows = convert("table", "--path", tmp_path / "meta.tsv", "--tasks", "{mood: multilabel, bpm: regression}",
                   "--path_column", "file", "--split_column", "partition", "--audio_root", tmp_path / "audio",
                   "--label_sep", "|", "--out", tmp_path / "out" / "m.csv")
    assert rows["0.flac"] == {"split": "train", "mood": "happy;calm", "bpm": "120"}
    assert rows["1.flac"]["split"] == "valid"
    (tmp_path / "bom.csv").write_bytes("file,partition,mood\n0.flac,train,happy\n".encode("utf-8-sig"))
    rows = convert("table", "--path", tmp_path / "bom.csv", "--tasks", "{mood: multiclass}", "--path_column", "file",
                   "--split_column", "partition", "--audio_root", tmp_path / "audio", "--out", tmp_path / "b" / "m.csv")
    assert rows["0.flac"] == {"split": "train", "mood": "happy"}  # the byte-order mark is not in the first column
    (tmp_path / "meta.tsv").write_text("file\tpartition\tmood\tbpm\n0.flac\tdev\thappy\t120\n")
    with pytest.raises(ValueError, match=r"meta.tsv:2: split 'dev' is not train, valid or test"):
        convert("table", "--path", tmp_path / "meta.tsv", "--tasks", "{mood: multilabel}", "--path_column", "file",
                "--split_column", "partition", "--audio_root", tmp_path / "audio", "--out", tmp_path / "m.csv")
