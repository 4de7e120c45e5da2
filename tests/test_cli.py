"""End-to-end runs of the `ssl-mir` commands on generated audio, with real Lightning Trainers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import soundfile as sf
import torch
import yaml

from ssl_mir.cli import entry, main
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.export import load_encoder, save_encoder
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
TRAINERS = sorted((CONFIGS / "trainer").glob("*.yaml"))
PRETRAIN = sorted((CONFIGS / "pretrain").glob("*.yaml"))
SUPERVISED = sorted((CONFIGS / "supervised").glob("*.yaml"))
PROBES = sorted((CONFIGS / "probe").glob("*.yaml"))
TINY_CNN = ["--model.init_args.encoder.init_args.channels", "[4, 8]", "--model.init_args.encoder.init_args.n_mels", "16"]


def run(*args: object) -> None:
    main([str(a) for a in args])


def data_args(manifest: Path, crop: int = 8000) -> list[str]:
    return ["--data.manifest", str(manifest), "--data.batch_size", "4", "--data.num_workers", "0",
            "--log_to", "csv", "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def labeled_args(manifest: Path, chunk: int = 16000) -> list[str]:
    return ["-c", CONFIGS / "data" / "synthetic_labeled.yaml", "--data.manifest", str(manifest),
            "--data.chunk_samples", str(chunk), "--data.batch_size", "4", "--data.num_workers", "0"]


def pairs(methods: list[Path], every: tuple[str, ...]) -> list:
    """Each method with the trainer configs named in `every`, and each other trainer config with the demo's method:
    on a CPU those others differ from `every`'s only in what the run overrides (accelerator, devices, nodes), and the
    whole cross product cost the suite 2 min."""
    demo = CONFIGS / "pretrain" / "simclr_cnn2d.yaml"
    chosen = [(t, m) for m in methods for t in TRAINERS if t.stem in every]
    chosen += [(t, demo) for t in TRAINERS if t.stem not in every]
    return [pytest.param(t, m, id=f"{m.parent.name}/{m.stem}-{t.stem}") for t, m in chosen]


@pytest.mark.parametrize("trainer,method", pairs(PRETRAIN + SUPERVISED, ("cpu",)))
def test_every_config_prints(trainer: Path, method: Path, capsys: pytest.CaptureFixture) -> None:
    data = CONFIGS / "data" / ("synthetic.yaml" if method.parent.name == "pretrain" else "synthetic_labeled.yaml")
    with pytest.raises(SystemExit) as done:
        run(method.parent.name, "-c", trainer, "-c", data, "-c", method, "--print_config")
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "class_path: ssl_mir." in printed and "trainer:" in printed


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.stem)
def test_probe_configs_print_and_run(probe: Path, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["-c", CONFIGS / "trainer" / "cpu.yaml", "-c", probe, *labeled_args(corpus)]
    with pytest.raises(SystemExit):
        run("probe", *base, "--encoders", "[x]", "--print_config")
    assert "kind:" in capsys.readouterr().out
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    run("probe", *base, "--data.tasks", "{instrument: multiclass, tempo: regression}", "--probe.max_epochs", "2",
        "--probe.seeds", "[0]", "--encoders", f"[{tmp_path / 'enc'}]", "--out", tmp_path / "out",
        "--cache_dir", tmp_path / "cache")
    with open(tmp_path / "out" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert {(r["task"], r["metric"]) for r in rows} >= {("instrument", "accuracy"), ("tempo", "r2")}


@pytest.mark.parametrize("trainer,method", pairs(PRETRAIN, ("cpu", "ddp")))
def test_pretrain_fast_dev_run(trainer: Path, method: Path, corpus: Path, tmp_path: Path) -> None:
    # GPU trainer configs run on the CPU here, with their precision and strategy, on one device (SyncBatchNorm is
    # GPU-only in torch).
    data = yaml.safe_load(method.read_text()).get("data", {})
    fits = data.get("crop_samples", 0) <= 3 * data.get("sample_rate", 16000)  # the corpus's clips are 3 s long
    run("pretrain", "-c", trainer, "-c", CONFIGS / "data" / "synthetic.yaml", "-c", method,
        *data_args(corpus), "--data.batch_size", "2", "--trainer.accelerator", "cpu", "--trainer.devices", "1",
        "--trainer.sync_batchnorm", "false", *([] if fits else ["--data.crop_samples", "40000"]),
        "--trainer.fast_dev_run", "true", "--trainer.default_root_dir", tmp_path)
    encoder = load_encoder(tmp_path / "encoder")
    assert encoder(torch.randn(1, 60000)).shape[-1] == encoder.embed_dim


def test_embed_writes_clip_and_frame_embeddings(corpus: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    common = ["--encoder", tmp_path / "enc", "--data", corpus.parent / "audio", "--chunk_seconds", "1.0"]
    run("embed", *common, "--out", tmp_path / "clip")
    run("embed", *common, "--out", tmp_path / "frame", "--level", "frame", "--layer", "0")
    clips = np.load(tmp_path / "clip" / "embeddings.npy")
    with open(tmp_path / "clip" / "index.csv") as f:
        index = list(csv.DictReader(f))
    assert clips.shape == (48, 8) and len(index) == 48 and index[0]["path"].endswith("clip_00000.wav")
    encoder = load_encoder(tmp_path / "enc")
    from ssl_mir.data.audio import read_audio

    wave = read_audio(index[0]["path"], 16000).view(3, 16000)  # three 1-s chunks of the first 3-s clip
    np.testing.assert_allclose(clips[0], encoder(wave).reshape(-1, 8).mean(0).numpy(), rtol=1e-5, atol=1e-6)
    frames = np.load(tmp_path / "frame" / "frames" / "0.npy")
    assert frames.shape == (3 * encoder.hidden_states(wave)[0].shape[1], 4)  # layer 0: 4 channels

    import pyarrow.parquet as pq

    run("embed", *common, "--out", tmp_path / "pq", "--level", "frame", "--layer", "0", "--format", "parquet")
    table = pq.read_table(tmp_path / "pq" / "embeddings.parquet").to_pydict()
    first = [i for i, p in enumerate(table["path"]) if p == index[0]["path"]]
    np.testing.assert_allclose(np.array([table["embedding"][i] for i in first]), frames, rtol=1e-6)
    hop = 1.0 / encoder.hidden_states(wave)[0].shape[1]  # layer 0 frames of a 1-s chunk
    assert table["time_s"][first[1]] == pytest.approx(hop) and table["frame"][first[-1]] == len(frames) - 1
    run("embed", *common, "--out", tmp_path / "pqclip", "--format", "parquet")
    clip_table = pq.read_table(tmp_path / "pqclip" / "embeddings.parquet").to_pydict()
    np.testing.assert_allclose(np.array(clip_table["embedding"]), clips, rtol=1e-6)


def test_embed_refuses_a_file_whose_embedding_is_not_finite(tmp_path: Path) -> None:
    from ssl_mir.evaluation.embeddings import NonFiniteEmbeddingError

    t = np.arange(32000) / 16000
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "a.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    sf.write(tmp_path / "audio" / "b.wav", (1e30 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000,
             subtype="FLOAT")  # decodes, but its power overflows float32 in the front end
    torch.manual_seed(0)
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    for level in ("clip", "frame"):
        with pytest.raises(NonFiniteEmbeddingError, match=r"b.wav: the encoder's layer -1 holds NaN or infinite"):
            run("embed", "--encoder", tmp_path / "enc", "--data", tmp_path / "audio", "--out", tmp_path / level,
                "--level", level, "--chunk_seconds", "1.0", "--max_amplitude", "1e31")  # past the file check
        assert not (tmp_path / level).exists()  # nothing written


@pytest.mark.parametrize("method", SUPERVISED, ids=lambda p: p.stem)
def test_supervised_fast_dev_run(method: Path, corpus: Path, tmp_path: Path) -> None:
    run("supervised", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", method, *labeled_args(corpus), *TINY_CNN,
        "--log_to", "csv", "--trainer.fast_dev_run", "true", "--trainer.default_root_dir", tmp_path)
    assert (tmp_path / "encoder" / "encoder.safetensors").is_file()


def _pretrain_tiny(corpus: Path, root: Path, epochs: int, *extra: object) -> None:
    run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", *data_args(corpus), "--data.crop_samples", "8000",
        *TINY_CNN, "--trainer.max_epochs", epochs, "--trainer.default_root_dir", root, *extra)


def test_resume_continues_where_training_stopped(corpus: Path, tmp_path: Path) -> None:
    every_step = ["--trainer.log_every_n_steps", "1"]
    _pretrain_tiny(corpus, tmp_path / "straight", 2, *every_step)
    _pretrain_tiny(corpus, tmp_path / "resumed", 1, *every_step)
    first = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    _pretrain_tiny(corpus, tmp_path / "resumed", 2, *every_step,
                   "--ckpt_path", tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    logged = {}
    for run_ in ("straight", "resumed"):
        with open(tmp_path / run_ / "metrics.csv") as f:
            logged[run_] = [(r["step"], r["train/loss"]) for r in csv.DictReader(f)]
    assert logged["resumed"] == logged["straight"]  # the history before the resume is kept
    assert len(logged["straight"]) == 2 * first["global_step"]
    straight = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == straight["global_step"] == 2 * first["global_step"] > 0
    assert resumed["optimizer_states"][0]["state"][0]["step"] == straight["optimizer_states"][0]["state"][0]["step"]
    for key, value in straight["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, msg=key)
    assert any(not torch.equal(first["state_dict"][k], v) for k, v in straight["state_dict"].items())


def test_pretrain_runs_as_two_ddp_processes_from_the_command_line(corpus: Path, tmp_path: Path) -> None:
    """Lightning's launcher starts rank 1 by running the command line again, so it must be the real one."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "ssl_mir.cli", "pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml",
               "-c", CONFIGS / "data" / "synthetic.yaml", "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml",
               *data_args(corpus), "--data.crop_samples", "8000", *TINY_CNN, "--trainer.max_steps", "2",
               "--trainer.strategy", "ddp", "--trainer.devices", "2", "--trainer.default_root_dir", tmp_path]
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MASTER_PORT": str(free_port())})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in done.stderr + done.stdout
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2
    assert (tmp_path / "encoder" / "encoder.safetensors").is_file()


@pytest.mark.slow
def test_supervised_validation_and_test_on_two_ddp_processes_equal_one_process(corpus: Path, tmp_path: Path) -> None:
    """The same weights (no training step) scored by 2 gloo ranks and by one process: clip-level metrics gathered
    from both ranks, padded chunks scored once, a clip's chunks merged across ranks."""
    import os
    import subprocess
    import sys

    logged = {}
    for name, ddp in (("one", []), ("two", ["--trainer.strategy", "ddp", "--trainer.devices", "2"])):
        command = [sys.executable, "-m", "ssl_mir.cli", "supervised", "-c", CONFIGS / "trainer" / "cpu.yaml",
                   "-c", CONFIGS / "supervised" / "cnn2d.yaml", *labeled_args(corpus, chunk=7000), *TINY_CNN,
                   "--data.tasks", "{instrument: multiclass, tempo: regression}", "--data.target", "instrument",
                   "--trainer.limit_train_batches", "0", "--trainer.max_epochs", "1", "--log_to", "csv",
                   "--trainer.default_root_dir", tmp_path / name, "--seed_everything", "3", *ddp]
        done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "MASTER_PORT": str(free_port())})
        assert done.returncode == 0, done.stderr[-2000:]
        with open(tmp_path / name / "metrics.csv") as f:
            logged[name] = {k: float(v) for row in csv.DictReader(f) for k, v in row.items()
                            if k.startswith("test/") and v}
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in done.stderr + done.stdout
    assert set(logged["one"]) >= {"test/accuracy", "test/macro_f1"}
    assert logged["two"] == pytest.approx(logged["one"], abs=1e-6)


def test_a_second_run_into_a_live_runs_folder_stops_before_writing(corpus: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from ssl_mir.runlock import RunFolderInUseError, hold, released

    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from ssl_mir.runlock import hold; "
                               f"hold({str(tmp_path / 'run')!r}); print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderInUseError, match=f"run is in use by a live run \\(pid {holder.pid} on "):
            _pretrain_tiny(corpus, tmp_path / "run", 1)
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [".lock"]  # nothing else written
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with released():  # a killed run leaves no stale lock
        hold(tmp_path / "run")


class _Payload:
    """A pickle that makes a directory when unpickled: a stand-in for a malicious checkpoint."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.mkdir, (str(self.marker),)


def test_a_checkpoint_served_over_http_runs_no_code(corpus: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import functools
    import http.server
    import threading

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))  # where torch.hub puts downloads
    served = tmp_path / "served"
    served.mkdir()
    torch.save({"state_dict": {}, "x": _Payload(tmp_path / "pwned")}, served / "evil.ckpt")
    torch.load(served / "evil.ckpt", weights_only=False)  # the payload works when unpickled ...
    assert (tmp_path / "pwned").is_dir()
    (tmp_path / "pwned").rmdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/evil.ckpt"
    try:
        with pytest.raises(Exception, match="Weights only load failed"):  # ... and is refused here
            _pretrain_tiny(corpus, tmp_path / "run", 1, "--ckpt_path", url)
        with pytest.raises(ValueError, match="weights_only: false is refused"):
            _pretrain_tiny(corpus, tmp_path / "run", 1, "--ckpt_path", url, "--weights_only", "false")
    finally:
        server.shutdown()
    assert not (tmp_path / "pwned").exists()


def test_online_probe_logs_and_leaves_the_run_unchanged(corpus: Path, tmp_path: Path) -> None:
    online = ["-c", CONFIGS / "callbacks" / "online_probe.yaml",
              "--trainer.callbacks.manifest", corpus, "--trainer.callbacks.every_n_epochs", "1",
              "--trainer.callbacks.chunk_samples", "8000"]
    _pretrain_tiny(corpus, tmp_path / "with", 2, *online)
    _pretrain_tiny(corpus, tmp_path / "without", 2)
    with open(tmp_path / "with" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("probe/instrument/accuracy")]
    assert len(rows) == 2 and all(0.0 <= float(r["probe/instrument/accuracy"]) <= 1.0 for r in rows)
    assert "probe/tempo/r2" in rows[0]
    a = torch.load(tmp_path / "with" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "without" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for key in b:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_export_command_matches_the_automatic_export(corpus: Path, tmp_path: Path) -> None:
    _pretrain_tiny(corpus, tmp_path / "run", 1)
    run("export", "--run", tmp_path / "run", "--out", tmp_path / "exported")
    auto, manual = load_encoder(tmp_path / "run" / "encoder"), load_encoder(tmp_path / "exported")
    wave = torch.randn(2, 16000)
    torch.testing.assert_close(auto(wave), manual(wave), rtol=0, atol=0)


def test_wandb_logs_offline_without_login(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    _pretrain_tiny(corpus, tmp_path, 1, "--log_to", "wandb")
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))


@pytest.mark.slow
def test_user_folder_pretrain_and_probe(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """What the README tells a user to do: a folder of WAV/FLAC/MP3 files and a CSV of labels, no code."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "my_audio"
    folder.mkdir()
    rows = []
    for i in range(24):
        genre = ["drone", "clicks"][(i // 4) % 2]  # both genres in every split
        t = np.arange(2 * 22050) / 22050
        if genre == "drone":
            x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t)
        else:
            x = 0.3 * (rng.random(t.size) < 0.002) * rng.standard_normal(t.size)
        x = (x + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
        ext, kwargs = [(".wav", {}), (".flac", {}), (".mp3", {"format": "MP3"})][i % 3]
        stereo = np.stack([x, x], 1) if i % 4 == 0 else x
        sf.write(folder / f"song{i}{ext}", stereo, 22050, **kwargs)
        rows.append({"path": f"song{i}{ext}", "split": ["train", "train", "valid", "test"][i % 4], "genre": genre})
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")  # in the folder, not in the labels
    sf.write(folder / "silence.flac", np.zeros(44100, dtype=np.float32), 22050)
    with open(folder / "labels.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", "genre"])
        writer.writeheader()
        writer.writerows(rows)
    run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", *data_args(folder), "--data.split", "null",
        "--data.on_bad_file", "skip",
        "--data.crop_samples", "16000", *TINY_CNN, "--trainer.max_steps", "3", "--trainer.default_root_dir",
        tmp_path / "run")
    run("probe", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "probe" / "linear.yaml",
        "--data.manifest", folder / "labels.csv", "--data.tasks", "{genre: multiclass}", "--data.num_workers", "0",
        "--data.chunk_samples", "16000", "--encoders", f"[{tmp_path / 'run' / 'encoder'}]",
        "--probe.max_epochs", "200", "--out", tmp_path / "probe", "--cache_dir", "null")
    assert "skipped 2 of 26 files" in caplog.text
    results = json.loads((tmp_path / "probe" / "results.json").read_text())
    accuracy = next(r["value"] for r in results if r["metric"] == "accuracy")
    assert accuracy > 0.5  # two well-separated classes: a frozen encoder + linear probe beats chance


@pytest.mark.slow
def test_simclr_loss_falls(corpus: Path, tmp_path: Path) -> None:
    """Without augmentation, telling crops of one clip from the others is learnable in a few dozen steps."""
    _pretrain_tiny(corpus, tmp_path, 10, "--trainer.log_every_n_steps", "1", "--data.batch_size", "8",
                   "--data.augment", "null", "--model.init_args.encoder.init_args.channels", "[8, 16]")
    with open(tmp_path / "metrics.csv") as f:
        losses = [float(r["train/loss"]) for r in csv.DictReader(f) if r.get("train/loss")]
    assert len(losses) >= 30
    assert np.mean(losses[-8:]) < np.mean(losses[:8]) - 0.2


def test_a_user_error_is_one_line_on_stderr_with_exit_2_and_debug_shows_the_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "enc")
    command = ["ssl-mir", "embed", "--encoder", str(tmp_path / "enc"), "--data", str(tmp_path / "nowhere.csv"),
               "--out", str(tmp_path / "out")]
    monkeypatch.setattr("sys.argv", command)
    with pytest.raises(SystemExit) as exit_:
        entry()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert err.splitlines()[0] == f"ssl-mir embed: error: manifest or folder not found: {tmp_path / 'nowhere.csv'}"
    monkeypatch.setattr("sys.argv", [*command, "--debug"])
    with pytest.raises(FileNotFoundError, match="manifest or folder not found"):
        entry()


def test_an_unexpected_error_keeps_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: list[str]) -> None:
        int("not a number")  # a ValueError raised outside ssl_mir's input checks: a bug, not the user's error

    monkeypatch.setattr("ssl_mir.commands.features.stats", broken)
    monkeypatch.setattr("sys.argv", ["ssl-mir", "stats"])
    with pytest.raises(ValueError, match="invalid literal for int"):
        entry()


def test_a_failed_run_is_one_line_on_stderr_with_exit_1(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from ssl_mir.errors import RunFailedError

    def diverged(args: list[str]) -> None:
        raise RunFailedError("step 6: the loss or its gradient is NaN or infinite")

    monkeypatch.setattr("ssl_mir.commands.training.pretrain", diverged)
    monkeypatch.setattr("sys.argv", ["ssl-mir", "pretrain"])
    with pytest.raises(SystemExit) as exit_:
        entry()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "ssl-mir pretrain: failed: step 6: the loss or its gradient is NaN or infinite\n"


TINY_M2D = ["--model.init_args.encoder.init_args.dim", "32", "--model.init_args.encoder.init_args.heads", "2",
            "--model.init_args.encoder.init_args.depth", "1", "--model.init_args.predictor_dim", "32",
            "--model.init_args.predictor_heads", "2", "--model.init_args.scheduler.init_args.warmup_steps", "3",
            "--model.init_args.scheduler.init_args.total_steps", "8", "--trainer.max_steps", "-1",
            "--trainer.limit_train_batches", "4"]


def _pretrain_m2d(corpus: Path, root: Path, epochs: int, *extra: object) -> None:
    run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "m2d_transformer.yaml", *data_args(corpus), "--data.num_workers", "2",
        "--data.crop_samples", "8000",
        *TINY_M2D, "--trainer.max_epochs", epochs, "--trainer.default_root_dir", root, *extra)


class Crash(Exception):
    """The process dies (test-only)."""


class CrashAt(pl.Callback):
    """Test-only: the run dies as step `step` starts, after the checkpoints written before it."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            raise Crash(f"killed at step {self.step}")


def test_resume_is_exact_with_an_ema_target_masking_and_a_warmup_cosine_schedule(corpus: Path,
                                                                                  tmp_path: Path) -> None:
    """The same command, crashed in its second epoch and resumed from the first epoch's checkpoint (two workers)."""
    _pretrain_m2d(corpus, tmp_path / "straight", 2)
    with pytest.raises(Crash):
        _pretrain_m2d(corpus, tmp_path / "resumed", 2, "--trainer.callbacks+", "tests.test_cli.CrashAt",
                      "--trainer.callbacks.step", "6")
    _pretrain_m2d(corpus, tmp_path / "resumed", 2, "--ckpt_path", tmp_path / "resumed" / "checkpoints" / "last.ckpt")
    straight, resumed = (torch.load(tmp_path / r / "checkpoints" / "last.ckpt", weights_only=True)
                         for r in ("straight", "resumed"))
    assert resumed["global_step"] == straight["global_step"] == 8
    assert resumed["lr_schedulers"][0]["last_epoch"] == straight["lr_schedulers"][0]["last_epoch"] == 8
    assert any(k.startswith("target_encoder.") for k in straight["state_dict"])
    for key, value in straight["state_dict"].items():  # online and EMA target alike
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=0, atol=0, msg=key)


def test_sigterm_writes_a_checkpoint_exits_143_and_the_run_goes_on_from_it_exactly(corpus: Path,
                                                                                   tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    args = ["pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
            "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", *data_args(corpus), "--data.num_workers", "2",
            "--data.crop_samples", "8000", *TINY_CNN]
    command = [str(c) for c in [sys.executable, "-m", "ssl_mir.cli", *args, "--trainer.max_epochs", "30",
                                "--trainer.default_root_dir", tmp_path / "stopped"]]
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "stopped" / "checkpoints").glob("epoch=*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the first epoch's checkpoint: the run is well under way
    running.send_signal(signal.SIGTERM)
    _, err = running.communicate(timeout=120)
    assert running.returncode == 143, err[-2000:]
    assert "stopped by SIGTERM or SIGUSR1; the same command with --ckpt_path" in err
    last = tmp_path / "stopped" / "checkpoints" / "last.ckpt"
    stopped = torch.load(last, weights_only=True)
    epoch_end = torch.load(next((tmp_path / "stopped" / "checkpoints").glob("epoch=*")), weights_only=True)
    per_epoch = epoch_end["global_step"] // (epoch_end["epoch"] + 1)  # from the latest epoch checkpoint kept
    assert per_epoch <= stopped["global_step"] < 30 * per_epoch  # under way, far from the end
    assert not (tmp_path / "stopped" / "encoder").exists()
    epochs = stopped["epoch"] + 2
    done = subprocess.run([*command, "--ckpt_path", str(last), "--trainer.max_epochs", str(epochs)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "stopped" / "encoder" / "encoder.safetensors").is_file()
    run(*args, "--trainer.max_epochs", epochs, "--trainer.default_root_dir", tmp_path / "straight")
    straight, resumed = (torch.load(tmp_path / r / "checkpoints" / "last.ckpt", weights_only=True)
                         for r in ("straight", "stopped"))
    assert resumed["global_step"] == straight["global_step"] == epochs * per_epoch
    for key, value in straight["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=0, atol=0, msg=key)


def test_checkpoints_every_n_steps_bound_what_a_crash_loses(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(Crash):
        _pretrain_tiny(corpus, tmp_path, 5, "--checkpoint_every_n_steps", "3",
                       "--trainer.callbacks+", "tests.test_cli.CrashAt", "--trainer.callbacks.step", "7")
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 6
    assert not list((tmp_path / "checkpoints").glob("epoch=*"))  # the crash came inside the first epoch


def test_checkpoints_every_n_minutes_bound_what_a_crash_loses(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(Crash):  # 0.6 ms: every step takes longer, and the clock is looked at after each
        _pretrain_tiny(corpus, tmp_path, 5, "--checkpoint_every_n_minutes", "1e-5",
                       "--trainer.callbacks+", "tests.test_cli.CrashAt", "--trainer.callbacks.step", "7")
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 7  # none lost


class CountBroadcasts(pl.Callback):
    """Test-only: counts the run's broadcasts from rank 0 (on GPUs each one makes the hosts wait for their device)."""

    calls = 0

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        broadcast = trainer.strategy.broadcast

        def counted(obj: object, src: int = 0) -> object:
            CountBroadcasts.calls += 1
            return broadcast(obj, src)

        trainer.strategy.broadcast = counted


def test_the_checkpoint_clock_is_read_every_few_seconds_not_every_step(corpus: Path, tmp_path: Path) -> None:
    calls = {}
    for minutes in ("null", "30"):
        CountBroadcasts.calls = 0
        _pretrain_tiny(corpus, tmp_path / minutes, 1, "--checkpoint_every_n_minutes", minutes,
                       "--trainer.callbacks+", "tests.test_cli.CountBroadcasts")
        calls[minutes] = CountBroadcasts.calls
    assert calls["30"] - calls["null"] == 1  # a look after the first of the epoch's 8 steps; the next, 10 s later
