"""Files whole or absent: a full disk mid-write keeps the previous file; unreadable files are named."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
import torch

from ssl_mir.atomic import CorruptFileError, WriteFailedError, write_atomic, write_text_atomic
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.export import load_encoder, save_encoder
from tests.test_cli import _pretrain_tiny

SMALL = ["--trainer.limit_train_batches", "4"]


def test_a_failed_write_keeps_the_previous_file_and_names_the_problem(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "report.md", "the previous report\n")

    def half_then_full(tmp: Path) -> None:
        tmp.write_text("half a rep")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteFailedError, match=r"report.md: could not write \(No space left on device\); the "
                                               r"previous file is intact"):
        write_atomic(target, half_then_full)
    assert target.read_text() == "the previous report\n" and sorted(tmp_path.iterdir()) == [target]


def test_a_full_disk_during_a_checkpoint_keeps_the_last_good_one(corpus: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = torch.save
    saves = []

    def disk_full_on_the_second_epoch(obj: object, f: object, *args: object, **kwargs: object) -> None:
        saves.append(f)
        if len(saves) <= 2:  # epoch 1: epoch=0-step=4.ckpt and last.ckpt
            return real_save(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        real_save(obj, buffer)
        Path(str(f)).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])  # a partial write, then ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full_on_the_second_epoch)
    with pytest.raises(WriteFailedError, match=r"\.ckpt: could not write \(No space left on device\)"):
        _pretrain_tiny(corpus, tmp_path, 2, *SMALL)
    monkeypatch.undo()
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)  # whole, from epoch 1
    assert last["global_step"] == 4
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_a_truncated_checkpoint_is_an_error_naming_it(corpus: Path, tmp_path: Path) -> None:
    _pretrain_tiny(corpus, tmp_path / "run", 1, *SMALL)
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:5000])
    with pytest.raises(CorruptFileError, match=f"{ckpt}: not a readable checkpoint, truncated or corrupt"):
        _pretrain_tiny(corpus, tmp_path / "resumed", 2, *SMALL, "--ckpt_path", ckpt)


def test_a_truncated_or_garbled_export_is_an_error_naming_the_file(tmp_path: Path) -> None:
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    weights = tmp_path / "enc" / "encoder.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=f"{weights}: not readable safetensors, truncated or corrupt"):
        load_encoder(tmp_path / "enc")
    weights.write_bytes(data)
    config = tmp_path / "enc" / "encoder.json"
    config.write_text(config.read_text()[:40])
    with pytest.raises(CorruptFileError, match=f"{config}: not valid JSON, truncated or corrupt"):
        load_encoder(tmp_path / "enc")
