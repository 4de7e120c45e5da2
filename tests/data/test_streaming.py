"""Shards (`ssl-mir shard`) and streaming them through litdata: round trip, layout, bad files, and every clip once
per epoch over 2 ranks × 2 workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from litdata import StreamingDataset

from ssl_mir.data.audio import read_audio
from ssl_mir.data.manifest import Manifest
from ssl_mir.data.shards import record_samples, write_shards
from ssl_mir.data.streaming import StreamingCrops, split_location, streaming_loader
from tests.conftest import free_port, write_tone
from tests.test_cli import run


def test_records_equal_the_decoded_files_with_splits_and_labels(corpus: Path, labeled_shards: Path) -> None:
    rows = Manifest.load(corpus).rows
    summary = json.loads((labeled_shards / "shards.json").read_text())
    assert set(summary["folders"]) == {"train", "valid", "test"} and summary["sample_rate"] == 16000
    for split, folder in summary["folders"].items():
        expected = [r for r in rows if r.split == split]
        records = StreamingDataset(str(labeled_shards / split))
        assert len(records) == folder["clips"] == len(expected)
        for row, i in zip(expected, range(len(records))):  # the manifest's order
            record = records[i]
            assert json.loads(record["meta"]) == {"clip": row.path, "split": split, "labels": row.labels}
            own, rate = sf.read(row.path, dtype="int16")  # 16-bit mono files at 16 kHz: kept sample for sample
            assert rate == 16000 and np.array_equal(record_samples(record["audio"]), own)


def _int16(path: str, sample_rate: int) -> np.ndarray:
    """The file resampled, as 16-bit PCM on libsndfile's scale (2¹⁵ to full scale)."""
    return np.clip(np.round(read_audio(path, sample_rate).numpy() * 32768), -32768, 32767).astype(np.int16)


def test_flac_records_resampled_equal_the_decoded_files(corpus: Path, tmp_path: Path,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    out = write_shards(str(corpus.parent / "audio"), str(tmp_path / "flac"), sample_rate=12000, audio_format="flac",
                       workers=1)
    assert "Progress: 100%" in capfd.readouterr().err  # `ssl-mir shard` shows litdata's bar while it writes
    records = StreamingDataset(out)
    paths = [r.path for r in Manifest.load(corpus.parent / "audio").rows]
    for i in (0, 17, 47):
        assert isinstance(records[i]["audio"], bytes) and records[i]["sample_rate"] == 12000
        np.testing.assert_array_equal(record_samples(records[i]["audio"]), _int16(paths[i], 12000))


def test_a_complete_folder_is_kept_a_partial_one_rewritten_and_bad_files_counted(tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    folder.mkdir()
    for i in range(3):
        write_tone(folder / f"tone{i}.wav", freq=220.0 * (i + 1), seconds=1.0)
    (folder / "broken.wav").write_bytes(b"RIFF0000WAVEfmt nonsense")
    with pytest.raises(Exception, match="broken.wav"):
        write_shards(str(folder), str(tmp_path / "out"), workers=1)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "chunk-0-0.bin").write_bytes(b"left by a stopped run")  # no index: partial
    write_shards(str(folder), str(out), workers=1, on_bad_file="skip")
    summary = json.loads((out / "shards.json").read_text())
    assert summary["folders"][""]["clips"] == 3 and [b["path"] for b in summary["skipped"]] == [str(folder.resolve() / "broken.wav")]
    assert len(StreamingDataset(str(out))) == 3
    with pytest.raises(FileExistsError, match="already holds a complete shard folder"):
        write_shards(str(folder), str(out), workers=1, on_bad_file="skip")
    with pytest.raises(FileNotFoundError, match="no shard folder"):
        split_location(str(tmp_path / "audio"), "train")


UNGUARDED = """
import sys
from pathlib import Path
marker = Path(sys.argv[2]) / "parent.txt"
if marker.exists():  # a spawned worker runs this script again, as it would any script without a main guard
    raise SystemExit("a worker that dies on start")
marker.write_text("")
from ssl_mir.data.shards import write_shards
write_shards(sys.argv[1], sys.argv[2] + "/out", workers=2)
"""


def test_workers_that_die_on_start_are_an_error_not_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    folder.mkdir()
    for i in range(4):
        write_tone(folder / f"tone{i}.wav", freq=220.0 * (i + 1), seconds=1.0)
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    done = subprocess.run([sys.executable, str(script), str(folder), str(tmp_path)], capture_output=True, text=True,
                          timeout=240, cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode != 0
    assert "litdata wrote 0 of 4 records" in done.stderr and "guard" in done.stderr
    out = tmp_path / "out"
    assert not (out / "shards.json").exists() and not (out / "index.json").exists()  # partial: the next run rewrites
    write_shards(str(folder), str(out), workers=1)
    assert len(StreamingDataset(str(out))) == 4


def _worker(rank: int, shards: str, out: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    data = StreamingCrops(shards, 16000, 4000, n_views=2, seed=5)
    seen = {}
    loader = streaming_loader(data, batch_size=4, num_workers=2)  # one loader for both epochs, as Lightning has
    for epoch in range(2):
        seen[epoch] = [(int(i), views.sum().item()) for batch in loader
                       for i, views in zip(batch["index"], batch["views"])]
    torch.save(seen, Path(out) / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_with_two_workers_stream_every_clip_once_per_epoch(corpus_shards: Path, tmp_path: Path) -> None:
    mp.spawn(_worker, args=(str(corpus_shards), str(tmp_path), free_port()), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for epoch in range(2):
        clips = [i for seen in ranks for i, _ in seen[epoch]]
        assert sorted(clips) == list(range(48))  # 48 clips, 2 ranks × 2 workers × batches of 4: none dropped
    first = {i: crop for seen in ranks for i, crop in seen[0]}
    second = {i: crop for seen in ranks for i, crop in seen[1]}
    assert sum(first[i] != second[i] for i in first) > 40  # each epoch draws other crops
    assert [i for i, _ in ranks[0][0]] != [i for i, _ in ranks[0][1]]  # and another order


def test_pretraining_streams_the_train_folder_and_records_it(corpus: Path, labeled_shards: Path,
                                                            tmp_path: Path) -> None:
    from tests.test_cli import CONFIGS, TINY_CNN

    shards = str(labeled_shards)
    run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", "--data.manifest", "null", "--data.streaming", shards,
        "--data.batch_size", "4", "--data.num_workers", "0", "--data.crop_samples", "8000", *TINY_CNN,
        "--trainer.max_steps", "3", "--log_to", "csv", "--trainer.default_root_dir", tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "encoder" / "encoder.json").read_text())["meta"]
    assert meta["data"] == {"source": shards, **json.loads((Path(shards) / "shards.json").read_text())["folders"]["train"]}
    with pytest.raises(ValueError, match="set one of data.manifest"):
        run("pretrain", "-c", CONFIGS / "data" / "synthetic.yaml", "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml",
            "--data.manifest", str(corpus), "--data.streaming", shards, "--trainer.max_steps", "1",
            "--trainer.default_root_dir", tmp_path / "both")


def test_the_labeled_data_module_reads_shards_like_the_files(corpus: Path, labeled_shards: Path,
                                                            tmp_path: Path) -> None:
    from ssl_mir.data.datamodules import LabeledDataModule

    shards = str(labeled_shards)
    tasks = {"instrument": "multiclass", "instruments": "multilabel", "tempo": "regression"}
    files = LabeledDataModule(str(corpus), tasks, target="instrument", chunk_samples=16000, num_workers=0)
    streamed = LabeledDataModule(None, tasks, target="instrument", chunk_samples=16000, num_workers=0,
                                 streaming=shards)
    assert streamed.tasks == files.tasks
    for split in ("train", "valid", "test"):
        for name in tasks:
            torch.testing.assert_close(streamed.targets[split][name], files.targets[split][name])
        a, b = files.chunk_dataset(split), streamed.chunk_dataset(split)
        assert len(a) == len(b)
        for i in range(0, len(a), 7):
            assert a[i]["clip"] == b[i]["clip"] and a[i]["chunk"] == b[i]["chunk"]
            torch.testing.assert_close(b[i]["wave"], a[i]["wave"], atol=1e-4, rtol=0)  # int16, scaled by 32767
    with pytest.raises(FileNotFoundError, match="no shards.json; it is written by ssl-mir shard"):
        LabeledDataModule(None, tasks, streaming=str(tmp_path)).checked  # noqa: B018


def test_probe_and_supervised_commands_stream_shards(labeled_shards: Path, tmp_path: Path) -> None:
    from ssl_mir.encoders import ShortChunkCNN
    from ssl_mir.export import save_encoder
    from tests.test_cli import CONFIGS, TINY_CNN

    shards = str(labeled_shards)
    data = ["-c", CONFIGS / "data" / "synthetic_labeled.yaml", "--data.manifest", "null", "--data.streaming", shards,
            "--data.chunk_samples", "16000", "--data.batch_size", "4", "--data.num_workers", "0"]
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    run("probe", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "probe" / "linear.yaml", *data,
        "--data.tasks", "{instrument: multiclass}", "--probe.max_epochs", "2", "--probe.seeds", "[0]",
        "--encoders", f"[{tmp_path / 'enc'}]", "--out", tmp_path / "probe", "--cache_dir", tmp_path / "cache")
    assert json.loads((tmp_path / "probe" / "results.json").read_text())
    run("supervised", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "supervised" / "cnn2d.yaml", *data,
        *TINY_CNN, "--log_to", "csv", "--trainer.fast_dev_run", "true", "--trainer.default_root_dir", tmp_path / "sup")
    assert (tmp_path / "sup" / "encoder" / "encoder.safetensors").is_file()


@pytest.mark.slow
def test_embed_on_two_torchrun_processes_writes_a_sharded_parquet_dataset(corpus: Path, corpus_shards: Path,
                                                                          tmp_path: Path) -> None:
    import subprocess
    import sys

    import pyarrow.parquet as pq

    from ssl_mir.encoders import ShortChunkCNN
    from ssl_mir.export import save_encoder

    torch.manual_seed(0)
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    common = ["--encoder", str(tmp_path / "enc"), "--chunk_seconds", "1.0", "--format", "parquet"]
    run("embed", *common, "--data", corpus.parent / "audio", "--out", tmp_path / "one")
    env = {k: v for k, v in os.environ.items() if k not in ("MASTER_PORT", "RANK", "WORLD_SIZE")}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "--master_port", str(free_port()), "-m", "ssl_mir.cli", "embed", *common,
                           "--data", str(corpus_shards), "--out", str(tmp_path / "two")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["embeddings-00000-of-00002.parquet",
                                                                  "embeddings-00001-of-00002.parquet"]
    one = pq.read_table(tmp_path / "one").to_pydict()
    two = pq.read_table(tmp_path / "two").to_pydict()  # the folder as one dataset
    assert sorted(two["path"]) == sorted(one["path"]) and len(two["path"]) == 48
    by_path = dict(zip(two["path"], two["embedding"]))
    np.testing.assert_allclose(np.array([by_path[p] for p in one["path"]]), np.array(one["embedding"]), atol=1e-3)


def test_another_sample_rate_and_a_checkpoint_of_the_other_source_are_refused(corpus: Path,
                                                                              corpus_shards: Path) -> None:
    from ssl_mir.data.datamodules import PretrainDataModule

    with pytest.raises(ValueError, match="is at 16000 Hz, the data module at 12000 Hz; shard again with "
                                         "--sample_rate 12000"):
        StreamingCrops(str(corpus_shards), 12000, 4000)[0]
    streamed = PretrainDataModule(streaming=str(corpus_shards), crop_samples=8000, split=None, batch_size=4,
                                  num_workers=0)
    streamed.setup("fit")
    streamed.load_state_dict({"epoch": 1, "batches": 2, "seed": 0})
    with pytest.raises(ValueError, match="written by a run that read files, and this one streams shards"):
        streamed.train_dataloader()
    files = PretrainDataModule(str(corpus.parent / "audio"), crop_samples=8000, split=None, batch_size=4, num_workers=0)
    files.setup("fit")
    files.load_state_dict({"stream": streamed.state_dict()})
    with pytest.raises(ValueError, match="written by a run that streamed shards, and this one reads files"):
        files.train_dataloader()
