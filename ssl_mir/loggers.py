"""Experiment loggers that never need a network or a login: wandb offline by default, CSV or TensorBoard otherwise."""

from __future__ import annotations

import logging
import os
from typing import Literal

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

log = logging.getLogger(__name__)

LoggerKind = Literal["wandb", "csv", "tensorboard"]


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
        return TensorBoardLogger(save_dir, name="", version="")
    return CSVLogger(save_dir, name="", version="")
