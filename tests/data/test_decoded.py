"""The decoded cache: the same crops as reading the files, rebuilt only for changed files, flat memory."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from ssl_mir.data.audio import read_crop
from ssl_mir.data.datamodules import PretrainDataModule
from ssl_mir.data.decoded import DecodedCache
from tests.conftest import write_tone

SR = 16000


def test_crops_of_a_16_bit_file_equal_the_file_s_own(tmp_path: Path) -> None:
    """At the file's own rate the cache holds its samples: soundfile's int16 convention both ways, no rounding."""
    wav = write_tone(tmp_path / "a.wav", 440.0, seconds=2.0, subtype="PCM_16", amp=1.0)  # full scale: both ends
    cache = DecodedCache(tmp_path / "cache", SR)
    assert cache.build([str(wav)]) == 1
    for start, duration in [(0.0, 0.5), (0.731, 1.0), (1.8, 0.5)]:  # the last one runs past the end: zero-padded
        ours, theirs = cache.read(str(wav), start, duration, SR), read_crop(wav, start, duration, SR)
        assert ours.shape == theirs.shape and torch.equal(ours, theirs)


def test_resampled_files_match_inside_the_crop(tmp_path: Path) -> None:
    wav = write_tone(tmp_path / "b.wav", 1000.0, seconds=2.0, sr=44100)
    cache = DecodedCache(tmp_path / "cache", SR)
    cache.build([str(wav)])
    ours, theirs = cache.read(str(wav), 0.5, 1.0, SR), read_crop(wav, 0.5, 1.0, SR)
    # The crop's own resampling sees no audio before its start; away from the first and last 64 samples both agree.
    torch.testing.assert_close(ours[64:-64], theirs[64:-64], atol=2e-3, rtol=0)


def test_only_new_or_changed_files_are_decoded(tmp_path: Path) -> None:
    a, b = write_tone(tmp_path / "a.wav", 300.0), write_tone(tmp_path / "b.wav", 500.0)
    root = tmp_path / "cache"
    assert DecodedCache(root, SR).build([str(a)]) == 1
    assert DecodedCache(root, SR).build([str(a), str(b)]) == 1
    sf.write(a, np.zeros(SR, dtype=np.float32) + 0.25, SR)
    os.utime(a, ns=(1, 1))  # a new modification time, whatever the file system's resolution
    reopened = DecodedCache(root, SR)
    assert reopened.build([str(a), str(b)]) == 1
    assert float(reopened.read(str(a), 0.0, 0.5, SR).mean()) == pytest.approx(0.25, abs=1e-4)


def test_errors_name_the_file_and_the_rate(tmp_path: Path) -> None:
    a = write_tone(tmp_path / "a.wav")
    cache = DecodedCache(tmp_path / "cache", SR)
    with pytest.raises(KeyError, match="a.wav: not in the decoded cache"):
        cache.read(str(a), 0.0, 1.0, SR)
    cache.build([str(a)])
    with pytest.raises(ValueError, match="holds 16000 Hz audio, 22050 Hz asked"):
        cache.read(str(a), 0.0, 1.0, 22050)


def test_memory_stays_flat_as_the_corpus_grows(tmp_path: Path) -> None:
    paths = [str(write_tone(tmp_path / f"t{i}.wav", 200.0 + i, seconds=4.0)) for i in range(40)]
    cache = DecodedCache(tmp_path / "cache", SR)
    cache.build(paths)

    def held_after_reading(n: int) -> int:
        reader = DecodedCache(tmp_path / "cache", SR)
        tracemalloc.start()
        for p in paths[:n]:
            for start in (0.0, 1.0, 2.0):
                reader.read(p, start, 1.0, SR)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return held

    # Reading 40 files' crops keeps no more than reading 4 (their 10 MB of audio stay in the page cache).
    assert held_after_reading(40) - held_after_reading(4) < 64 * 1024


def test_data_module_reads_through_the_cache(tmp_path: Path) -> None:
    for i in range(4):
        write_tone(tmp_path / f"t{i}.wav", 200.0 + 100 * i, seconds=1.0)
    plain = PretrainDataModule(str(tmp_path), SR, crop_samples=SR, batch_size=4, num_workers=0)
    cached = PretrainDataModule(str(tmp_path), SR, crop_samples=SR, batch_size=4, num_workers=0,
                                decoded_cache=str(tmp_path / "cache"))
    cached.prepare_data()
    assert (tmp_path / "cache" / str(SR) / "index.json").is_file()
    for data in (plain, cached):
        data.setup("fit")
    for i in range(4):
        assert torch.equal(cached.train_set[i]["views"], plain.train_set[i]["views"])  # 16-bit WAV at its rate


def test_crops_cut_on_the_device_equal_the_cache_s(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`data.device_crops`: the workers hand over where each crop lies and the crops are cut from the shards held in
    device memory (here the CPU's): the same values as reading the cache, across shards and past a file's end."""
    from torch.utils.data import default_collate

    from ssl_mir.data import decoded

    monkeypatch.setattr(decoded, "SHARD_SAMPLES", 40000)  # several shards: their offsets matter
    for i in range(4):
        write_tone(tmp_path / f"t{i}.wav", 200.0 + 100 * i, seconds=1.0 + 0.25 * i, subtype="PCM_16")
    kw = {"crop_samples": SR // 2, "n_views": 2, "batch_size": 4, "num_workers": 0,
          "decoded_cache": str(tmp_path / "cache")}
    plain, device = PretrainDataModule(str(tmp_path), SR, **kw), PretrainDataModule(str(tmp_path), SR, **kw,
                                                                                  device_crops=True)
    for data in (plain, device):
        data.prepare_data()
        data.setup("fit")
    assert len(list((tmp_path / "cache" / str(SR)).glob("shard_*.i16"))) > 1
    spans = default_collate([device.train_set[i] for i in range(4)])
    assert spans["views"].shape == (4, 2, 3) and not spans["views"].is_floating_point()
    cut = device.cut_on_device(spans)["views"]  # (B, V, S)
    assert torch.equal(cut, torch.stack([plain.train_set[i]["views"] for i in range(4)]))
    cache, path = device.decoded, str(tmp_path / "t3.wav")  # 1.75 s: a crop from 1.5 s runs 0.25 s past the end
    past_end = cache.resident(torch.device("cpu")).crops(cache.span(path, 1.5, 0.5, SR)[None], SR // 2)[0]
    assert torch.equal(past_end, cache.read(path, 1.5, 0.5, SR)) and not past_end[SR // 4:].any()
    with pytest.raises(ValueError, match="device_crops .* needs data.decoded_cache"):
        PretrainDataModule(str(tmp_path), SR, crop_samples=SR, device_crops=True)
