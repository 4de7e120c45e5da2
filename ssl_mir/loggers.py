"""Experiment loggers that never need a network or a login: wandb offline by default, CSV or TensorBoard otherwise."""

from __future__ import annotations

import csv
import importlib.util
import logging
import os
from typing import Literal

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment

log = logging.getLogger(__name__)

LoggerKind = Literal["wandb", "csv", "tensorboard"]


class KeepingWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv at start, so a resumed run lost its history. This one
    keeps the rows logged before the first step the new run logs (a resume from an earlier checkpoint redoes the
    steps after it), and drops the rest."""

    def _check_log_dir_exists(self) -> None:
        self.previous: list[dict[str, str]] | None = None
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as f:
                self.previous = list(csv.DictReader(f))

    def save(self) -> None:
        if self.previous is not None and self.metrics:
            first = min(int(m["step"]) for m in self.metrics)
            kept = [r for r in self.previous if r.get("step") and int(float(r["step"])) < first]
            self.metrics_keys = sorted({k for r in kept for k, v in r.items() if v != ""})
            with open(self.metrics_file_path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.metrics_keys, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(kept)
            self.previous = None
        super().save()


class KeepingCSVLogger(CSVLogger):
    """CSVLogger whose metrics.csv survives a resume (`KeepingWriter`)."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = KeepingWriter(log_dir=self.log_dir)
        return self._experiment


def make_logger(kind: LoggerKind, save_dir: str, name: str = "ssl_mir") -> Logger:
    """A logger writing under `save_dir`.

    wandb runs offline unless WANDB_MODE=online is set by the user (then `wandb sync` is not needed). If wandb cannot
    start, the run falls back to CSV with a warning instead of failing.
    """
    if kind == "wandb":
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_SILENT", "true")
        try:
            from pytorch_lightning.loggers import WandbLogger

            logger = WandbLogger(save_dir=save_dir, project=name, offline=os.environ["WANDB_MODE"] != "online")
            logger.experiment  # start now, so that a failure falls back here rather than mid-run  # noqa: B018
            return logger
        except Exception as err:  # noqa: BLE001 (any wandb start-up failure means: use CSV)
            log.warning("wandb unavailable (%s); logging to CSV in %s", err, save_dir)
    if kind == "tensorboard":
        if not any(importlib.util.find_spec(m) for m in ("tensorboard", "tensorboardX")):
            raise ValueError("--log_to tensorboard needs TensorBoard: pip install 'ssl_mir[tensorboard]'")
        return TensorBoardLogger(save_dir, name="", version="")
    return KeepingCSVLogger(save_dir, name="", version="")
