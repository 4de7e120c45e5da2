"""Exact resume: a pre-training process killed with SIGKILL mid-epoch, with two loader workers, and resumed from its
last checkpoint ends with the same weights, bit for bit, as the run that was never interrupted."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from tests.test_cli import CONFIGS, data_args, run

STEPS_PER_EPOCH = 12  # 48 clips of the corpus fixture, batches of 4
EPOCHS = 2

TRANSFORMER = ["--model.init_args.encoder.init_args.dim", "32", "--model.init_args.encoder.init_args.heads", "2",
               "--model.init_args.encoder.init_args.depth", "1"]
METHODS = {
    # SimCLR with its augmentations in the workers (the CPU backend): per-clip draws in two processes.
    "simclr": ("simclr_cnn2d", ["--model.init_args.encoder.init_args.channels", "[4, 8]",
                                "--model.init_args.encoder.init_args.n_mels", "16", "--data.augment.backend", "cpu"]),
    # BYOL-A: an EMA target, mixup from a memory of past batches and random resized crops in the module.
    "byola": ("byola_crnn", ["--model.init_args.encoder.init_args.channels", "[4, 8]",
                             "--model.init_args.encoder.init_args.gru_dim", "8",
                             "--model.init_args.encoder.init_args.gru_layers", "1",
                             "--model.init_args.projection_dim", "16", "--model.init_args.hidden_dim", "32"]),
    # BEST-RQ: random masks drawn in the training step (MAE and M2D draw theirs the same way, `SeededDraws`).
    "bestrq": ("bestrq_transformer", [*TRANSFORMER, "--model.init_args.codebook_size", "16"]),
}


class SigkillAt(pl.Callback):
    """Test-only: the process receives SIGKILL as step `step` starts; no handler, hook or worker clean-up runs."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def _command(method: str, root: Path, corpus: Path, *extra: object) -> list[str]:
    config, tiny = METHODS[method]
    args = ["pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
            "-c", CONFIGS / "pretrain" / f"{config}.yaml", *data_args(corpus), "--data.num_workers", "2",
            "--data.crop_samples", "8000", "--data.split", "null", *tiny, "--trainer.max_epochs", EPOCHS, "--trainer.max_steps", -1,
            "--checkpoint_every_n_steps", 1, "--trainer.default_root_dir", root, *extra]
    return [str(a) for a in args]


def _killed_resumed_and_straight(method: str, corpus: Path, tmp_path: Path, *extra: object) -> tuple[dict, ...]:
    """The checkpoint at the kill, and the last checkpoints of the resumed and the uninterrupted runs."""
    step = random.Random(method).choice([s for s in range(2, EPOCHS * STEPS_PER_EPOCH - 1) if s % STEPS_PER_EPOCH])
    killed = subprocess.run(
        [sys.executable, "-m", "ssl_mir.cli", *_command(method, tmp_path / "resumed", corpus, *extra),
         "--trainer.callbacks+", "tests.test_resume.SigkillAt", "--trainer.callbacks.step", str(step)],
        capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    last = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    at_kill = torch.load(last, weights_only=True)
    assert at_kill["global_step"] == step and step % STEPS_PER_EPOCH  # mid-epoch
    run(*_command(method, tmp_path / "resumed", corpus, *extra), "--ckpt_path", last)
    run(*_command(method, tmp_path / "straight", corpus, *extra))
    straight, resumed = (torch.load(tmp_path / r / "checkpoints" / "last.ckpt", weights_only=True)
                         for r in ("straight", "resumed"))
    assert resumed["global_step"] == straight["global_step"] == EPOCHS * STEPS_PER_EPOCH
    for key, value in straight["state_dict"].items():  # encoder, heads, EMA targets, BatchNorm statistics
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=0, atol=0, msg=key)
    return at_kill, resumed, straight


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(METHODS))
def test_a_run_killed_mid_epoch_with_two_workers_resumes_bit_identical(method: str, corpus: Path,
                                                                       tmp_path: Path) -> None:
    at_kill, _, _ = _killed_resumed_and_straight(method, corpus, tmp_path)
    step = at_kill["global_step"]
    assert at_kill["PretrainDataModule"] == {"epoch": step // STEPS_PER_EPOCH, "batches": step % STEPS_PER_EPOCH,
                                             "seed": 0}


@pytest.mark.slow
def test_a_streaming_run_killed_mid_epoch_resumes_bit_identical(corpus: Path, corpus_shards: Path,
                                                                tmp_path: Path) -> None:
    """The same from shards: litdata's loader state (epoch, clips each worker gave) goes into the checkpoint."""
    at_kill, _, _ = _killed_resumed_and_straight("simclr", corpus, tmp_path, "--data.manifest", "null",
                                                 "--data.streaming", corpus_shards)
    stream = at_kill["PretrainDataModule"]["stream"]
    assert stream["num_samples_yielded"] == 4 * (at_kill["global_step"] % STEPS_PER_EPOCH)


def test_slurm_sigusr1_stops_at_a_step_end_requeues_and_the_requeued_command_resumes(corpus: Path,
                                                                                    tmp_path: Path) -> None:
    """SLURM warns a job before its time limit with SIGUSR1 (`#SBATCH --signal=USR1@120`); the requeued job runs the
    same command, which holds `--ckpt_path last`. `scontrol` is a stand-in that records its call."""
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.log"}\n')
    (bin_dir / "scontrol").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "SLURM_JOB_ID": "4242",
           "SLURM_NTASKS": "1", "SLURM_JOB_NAME": "pretrain", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
           "SLURM_NODEID": "0", "SLURM_NODELIST": "localhost"}
    command = [sys.executable, "-m", "ssl_mir.cli", *_command("simclr", tmp_path / "run", corpus), "--ckpt_path",
               "last"]
    running = subprocess.Popen([*command, "--trainer.max_epochs", "30"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "run" / "checkpoints").glob("epoch=*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    running.send_signal(signal.SIGUSR1)
    _, err = running.communicate(timeout=120)
    assert running.returncode == 143, err[-2000:]
    assert (tmp_path / "scontrol.log").read_text() == "requeue 4242\n"
    assert not list((tmp_path / "run").glob("hpc_ckpt_*"))  # not Lightning's mid-step checkpoint
    stopped = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert STEPS_PER_EPOCH <= stopped["global_step"] < 30 * STEPS_PER_EPOCH
    requeued = subprocess.run([*command, "--trainer.max_epochs", str(stopped["epoch"] + 2)], env=env,
                              capture_output=True, text=True, timeout=300)
    assert requeued.returncode == 0, requeued.stderr[-2000:]
    done = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert done["global_step"] == (stopped["epoch"] + 2) * STEPS_PER_EPOCH
    assert (tmp_path / "run" / "encoder" / "encoder.safetensors").is_file()
