import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ssl_mir.data.audio import BadAudioError
from ssl_mir.data.manifest import Manifest
from tests.conftest import write_tone


def _bad_folder(tmp_path: Path) -> Path:
    """Two good files and one of each bad case."""
    write_tone(tmp_path / "good1.wav", seconds=2.0)
    write_tone(tmp_path / "good2.flac", seconds=2.0, channels=2)
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    sf.write(tmp_path / "silent.wav", np.zeros(32000, dtype=np.float32), 16000)
    nan = np.full(32000, 0.1, dtype=np.float32)
    nan[100] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT")
    write_tone(tmp_path / "surround.wav", channels=6)
    write_tone(tmp_path / "short.wav", seconds=0.5)
    return tmp_path


def test_folder_scan_csv_and_jsonl_agree(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav")
    (tmp_path / "sub").mkdir()
    write_tone(tmp_path / "sub" / "b.flac")
    (tmp_path / "m.csv").write_text("path,split,genre\na.wav,train,rock\nsub/b.flac,test,jazz\n")
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"path": "a.wav", "split": "train", "genre": "rock"}) + "\n"
        + json.dumps({"path": "sub/b.flac", "split": "test", "genre": ["jazz"]}) + "\n"
    )
    folder, from_csv, from_jsonl = (Manifest.load(tmp_path / p) for p in ("", "m.csv", "m.jsonl"))
    assert [r.path for r in folder.rows] == [r.path for r in from_csv.rows] == [r.path for r in from_jsonl.rows]
    assert from_csv.rows[1].labels == {"genre": "jazz"} == from_jsonl.rows[1].labels
    assert from_csv.split("train").rows[0].path.endswith("a.wav")


def test_duplicates_and_missing_columns_are_errors(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav")
    (tmp_path / "dup.csv").write_text("path\na.wav\n./a.wav\n")
    with pytest.raises(ValueError, match="row 1 repeats the path .*a.wav of row 0"):
        Manifest.load(tmp_path / "dup.csv")
    (tmp_path / "nopath.csv").write_text("file\na.wav\n")
    with pytest.raises(ValueError, match="needs a 'path' column"):
        Manifest.load(tmp_path / "nopath.csv")
    with pytest.raises(FileNotFoundError, match="nowhere.csv"):
        Manifest.load(tmp_path / "nowhere.csv")


def test_unknown_split_values_are_an_error_listing_found_and_accepted_values(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav")
    write_tone(tmp_path / "b.wav")
    (tmp_path / "m.csv").write_text("path,split\na.wav,Train\nb.wav,test\n")
    with pytest.raises(ValueError, match=r"unknown split value\(s\) \['Train'\]; the 'split' column holds "
                                         r"\['Train', 'test'\], and accepts \['train', 'valid', 'test'\]"):
        Manifest.load(tmp_path / "m.csv")
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": "a.wav", "split": "validation"}) + "\n")
    with pytest.raises(ValueError, match=r"m.jsonl: unknown split value\(s\) \['validation'\]"):
        Manifest.load(tmp_path / "m.jsonl")


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    write_tone(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_bytes("path,split,genre\r\na.wav,train,rock\r\n".encode("utf-8-sig"))
    (tmp_path / "m.jsonl").write_bytes((json.dumps({"path": "a.wav", "split": "train"}) + "\n").encode("utf-8-sig"))
    from_csv, from_jsonl = Manifest.load(tmp_path / "m.csv"), Manifest.load(tmp_path / "m.jsonl")
    assert from_csv.rows[0].labels == {"genre": "rock"} and from_csv.rows[0].split == "train"
    assert from_jsonl.rows[0].path == from_csv.rows[0].path


def test_check_raises_one_error_listing_every_bad_file(tmp_path: Path) -> None:
    folder = _bad_folder(tmp_path)
    (folder / "m.csv").write_text("path\n" + "\n".join(p.name for p in sorted(folder.iterdir())) + "\nmissing.wav\n")
    with pytest.raises(BadAudioError) as err:
        Manifest.load(folder / "m.csv").check("raise", min_duration=1.0, max_channels=2)
    message = str(err.value)
    for name, problem in [("corrupt.wav", "cannot decode"), ("empty.wav", "empty"), ("silent.wav", "silent"),
                          ("nan.wav", "contains NaN"), ("surround.wav", "6 channels"), ("short.wav", "too short"),
                          ("missing.wav", "file not found")]:
        assert f"{name}: {problem}" in message
    assert "good1.wav" not in message and "good2.flac" not in message
    assert "7 bad audio file(s)" in message


def test_skip_counts_and_logs_bad_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = _bad_folder(tmp_path)
    with caplog.at_level(logging.WARNING):
        checked = Manifest.load(folder).check("skip", min_duration=1.0, max_channels=2)
    assert sorted(Path(r.path).name for r in checked.rows) == ["good1.wav", "good2.flac"]
    assert len(checked.skipped) == 6
    assert "skipped 6 of 8 files" in caplog.text
    assert "nan.wav: contains NaN" in caplog.text
    good = checked.rows[1]
    assert (good.sample_rate, good.channels, good.duration) == (16000, 2, 2.0)


def test_check_refuses_truncated_and_absurdly_loud_files_or_skips_them(tmp_path: Path) -> None:
    write_tone(tmp_path / "ok.wav")
    write_tone(tmp_path / "loud.wav", amp=1e30, subtype="FLOAT")
    data = write_tone(tmp_path / "whole.mp3", seconds=8.0).read_bytes()
    (tmp_path / "whole.mp3").write_bytes(data[: len(data) // 3])
    with pytest.raises(BadAudioError, match=r"2 bad audio file\(s\)") as err:
        Manifest.load(tmp_path).check()
    assert "loud.wav: peak amplitude 1e+30 above the bound 16" in str(err.value)
    assert "whole.mp3: truncated: decodes" in str(err.value)
    kept = Manifest.load(tmp_path).check("skip", max_amplitude=1e31)  # a looser bound keeps the loud file
    assert sorted(Path(r.path).name for r in kept.rows) == ["loud.wav", "ok.wav"] and len(kept.skipped) == 1


def test_a_folder_scan_counts_folders_named_like_audio_and_broken_links(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    write_tone(tmp_path / "a.wav")
    (tmp_path / "album.flac").mkdir()  # a folder named like a file
    write_tone(tmp_path / "album.flac" / "b.flac")
    (tmp_path / "gone.mp3").symlink_to(tmp_path / "nowhere.mp3")
    with caplog.at_level(logging.WARNING):
        manifest = Manifest.load(tmp_path)
    assert sorted(Path(r.path).name for r in manifest.rows) == ["a.wav", "b.flac"]
    assert sorted((Path(b.path).name, b.problem) for b in manifest.skipped) == [
        ("album.flac", "a folder named like an audio file"), ("gone.mp3", "a broken link")]
    assert "skipped 2 of 4 entries named like audio files" in caplog.text
    assert len(manifest.check().skipped) == 2  # still counted after the content check
