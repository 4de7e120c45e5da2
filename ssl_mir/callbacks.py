"""Callbacks every training run gets from the CLI: encoder export at the end of fit, a checkpoint when the run is told
to stop (SIGTERM, SLURM's SIGUSR1), and checkpoints every N steps or minutes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer
from pytorch_lightning.utilities.exceptions import SIGTERMException

from ssl_mir.export import save_encoder

log = logging.getLogger(__name__)


class ExportEncoder(pl.Callback):
    """Write `pl_module.encoder` as a frozen artifact (safetensors + JSON) when fit ends.

    Args:
        dirpath: artifact folder; default `<trainer.default_root_dir>/encoder`.
    """

    def __init__(self, dirpath: str | None = None) -> None:
        self.dirpath = dirpath

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        target = Path(self.dirpath or Path(trainer.default_root_dir) / "encoder")
        ckpt = getattr(trainer.checkpoint_callback, "last_model_path", "") or ""
        meta = {"method": type(pl_module).__name__, "ckpt": ckpt, "global_step": trainer.global_step}
        summary = getattr(trainer.datamodule, "summary", None)  # what it was pre-trained on, for the scale axis
        if summary is not None:
            meta["data"] = summary()
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)  # type: ignore[attr-defined]
        if timer is not None:  # the training time, resumed runs included: the compute axis
            meta["train_minutes"] = round(timer.time_elapsed("train") / 60, 3)
        save_encoder(pl_module.encoder, target, meta=meta)
        log.info("exported encoder to %s", target)


class CheckpointOnStop(pl.Callback):
    """When the run is told to stop, Lightning finishes the current step and raises SIGTERMException; this writes
    `last.ckpt` there, so that the same command with `--ckpt_path` (or `--ckpt_path last`) goes on from that step
    instead of from the last epoch's end. The signals: SIGTERM (a scheduler's pre-emption, `kill`), and SIGUSR1, which
    SLURM sends before a time limit with `#SBATCH --signal=USR1@120`; under SLURM, SIGUSR1 also requeues the job
    (`scontrol requeue`), whose command, given `--ckpt_path last`, then resumes. The stop comes at a step's end, so
    the resumed run is exact (Lightning's own requeue writes its checkpoint inside the signal handler, mid-step).

    Args:
        dirpath: the checkpoint folder (the run's `checkpoints/`).
    """

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)
        self.requeue = False
        self.previous: Any = None  # the SIGUSR1 handler before fit, put back after it

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGUSR1"):
            self.previous = signal.signal(signal.SIGUSR1, lambda *_: self.stop_for_requeue(trainer))

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGUSR1, self.previous)
            self.previous = None

    def stop_for_requeue(self, trainer: pl.Trainer) -> None:
        """SIGUSR1: stop as for SIGTERM (Lightning checks the flag at the next step), then requeue."""
        self.requeue = True
        trainer._signal_connector.received_sigterm = True

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException):
            return
        path = self.dirpath / "last.ckpt"
        trainer.save_checkpoint(path)
        log.warning("stopped by a signal at step %d; checkpoint written to %s; resume with --ckpt_path %s",
                    trainer.global_step, path, path)
        job = os.environ.get("SLURM_JOB_ID")
        if self.requeue and job and trainer.is_global_zero:
            done = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
            if done.returncode != 0:
                log.error("scontrol requeue %s failed: %s", job, done.stderr.strip())
            else:
                log.warning("requeued SLURM job %s", job)


class PeriodicCheckpoint(pl.Callback):
    """`last.ckpt` every `every_n_steps` optimiser steps and every `every_n_minutes` of training, whichever comes
    first, besides Lightning's end-of-epoch checkpoints: on a long epoch a crash then costs minutes, not the epoch.

    Rank 0's clock decides, so every DDP rank saves at the same step. Its decision travels by a broadcast, which on
    GPUs makes each host wait for its device, so the clock is not read at every step: each look also fixes the step of
    the next, about a tenth of the interval (at most 10 s) of training later at the pace seen since the last look.

    Args:
        dirpath: the checkpoint folder (the run's `checkpoints/`).
        every_n_steps: steps between two checkpoints (None: not by steps).
        every_n_minutes: minutes between two checkpoints (None: not by time).
    """

    def __init__(self, dirpath: str | Path, every_n_steps: int | None = None,
                 every_n_minutes: float | None = None) -> None:
        self.dirpath = Path(dirpath)
        self.every_n_steps = every_n_steps
        self.every_n_minutes = every_n_minutes
        self.last_step, self.last_time = 0, time.monotonic()  # the last checkpoint
        self.looked_step, self.looked_time, self.next_look = 0, time.monotonic(), 0  # the clock's looks

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.last_step, self.last_time = trainer.global_step, time.monotonic()
        self.looked_step, self.looked_time, self.next_look = self.last_step, self.last_time, self.last_step + 1

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        step = trainer.global_step
        due = self.every_n_steps is not None and step - self.last_step >= self.every_n_steps
        if self.every_n_minutes is not None and step >= self.next_look:  # the same step on every rank
            due, self.next_look = trainer.strategy.broadcast(self.look(step, due), src=0)
        if due:
            trainer.save_checkpoint(self.dirpath / "last.ckpt")
            self.last_step, self.last_time = step, time.monotonic()

    def look(self, step: int, due: bool) -> tuple[bool, int]:
        """Whether a checkpoint is due at `step` by this rank's clock, and the step at which to look next."""
        assert self.every_n_minutes is not None
        now = time.monotonic()
        pace = (step - self.looked_step) / max(now - self.looked_time, 1e-6)  # steps per second
        self.looked_step, self.looked_time = step, now
        ahead = min(10.0, 6.0 * self.every_n_minutes)  # seconds: a tenth of the interval, at most 10
        return due or now - self.last_time >= 60.0 * self.every_n_minutes, step + max(1, int(pace * ahead))
