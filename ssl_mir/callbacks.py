"""Callbacks every training run gets from the CLI: encoder export at the end of fit, RNG state in checkpoints, a
checkpoint when the run is told to stop (SIGTERM)."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
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
        manifest = getattr(trainer.datamodule, "manifest", None)  # what it was pre-trained on, for the scale axis
        if manifest is not None:
            meta["data"] = {"source": manifest.source, "clips": len(manifest), "hours": round(manifest.hours, 4)}
        save_encoder(pl_module.encoder, target, meta=meta)
        log.info("exported encoder to %s", target)


class RngState(pl.Callback):
    """Save Python, NumPy and torch RNG states in checkpoints and restore them on resume.

    Lightning restores weights, optimiser and loop progress but not the generators that draw crops and
    augmentations; with this callback a resumed run draws what the uninterrupted run would have drawn. States are
    stored as tensors and plain tuples so that checkpoints load with `weights_only=True`.
    """

    def state_dict(self) -> dict[str, Any]:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state = {
            "python": random.getstate(),
            "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        kind, keys, pos, has_gauss, cached = state_dict["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


class CheckpointOnStop(pl.Callback):
    """When the run is told to stop (SIGTERM from a scheduler or `kill`), Lightning finishes the current step and
    raises SIGTERMException; this writes `last.ckpt` there, so that the same command with `--ckpt_path` goes on from
    that step instead of from the last epoch's end.

    Args:
        dirpath: the checkpoint folder (the run's `checkpoints/`).
    """

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, SIGTERMException):
            return
        path = self.dirpath / "last.ckpt"
        trainer.save_checkpoint(path)
        log.warning("stopped by SIGTERM at step %d; checkpoint written to %s; resume with --ckpt_path %s",
                    trainer.global_step, path, path)


class PeriodicCheckpoint(pl.Callback):
    """`last.ckpt` every `every_n_steps` optimiser steps and every `every_n_minutes` of training, whichever comes
    first, besides Lightning's end-of-epoch checkpoints: on a long epoch a crash then costs minutes, not the epoch.
    Rank 0's clock decides, so every DDP rank saves at the same step.

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
        self.last_step, self.last_time = 0, time.monotonic()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.last_step, self.last_time = trainer.global_step, time.monotonic()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        due = self.every_n_steps is not None and trainer.global_step - self.last_step >= self.every_n_steps
        if self.every_n_minutes is not None:  # clocks differ between ranks; step counts do not
            due = trainer.strategy.broadcast(due or time.monotonic() - self.last_time >= 60.0 * self.every_n_minutes,
                                             src=0)
        if due:
            trainer.save_checkpoint(self.dirpath / "last.ckpt")
            self.last_step, self.last_time = trainer.global_step, time.monotonic()
