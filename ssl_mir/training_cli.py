"""The training commands' LightningCLI: ssl_mir's run layout, callbacks, checkpoint rules and run-folder lock."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

from pytorch_lightning import LightningDataModule, LightningModule, Trainer
from pytorch_lightning.callbacks import ModelCheckpoint, ProgressBar, Timer
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.plugins.environments import SLURMEnvironment

from ssl_mir.callbacks import CheckpointOnStop, ExportEncoder, PeriodicCheckpoint
from ssl_mir.checkpoint_io import UNREADABLE, AtomicCheckpointIO, unreadable
from ssl_mir.evaluation.supervised import Supervised
from ssl_mir.guard import NonFiniteGuard, OnNonFinite
from ssl_mir.health import HealthMonitor
from ssl_mir.loggers import LoggerKind, make_logger
from ssl_mir.precision import resolve_precision
from ssl_mir.pretext.base import PretextModule
from ssl_mir.progress_bar import StepProgressBar
from ssl_mir.runlock import hold, is_rank_zero


class SslMirCLI(LightningCLI):
    """LightningCLI with ssl_mir's run layout under `trainer.default_root_dir`:

    `config.yaml` (the resolved config), `checkpoints/` (`last.ckpt` and the latest epoch; `--ckpt_path` resumes
    with optimiser and RNG state), `encoder/` (the exported frozen encoder) and the logger's files. A live run
    holds the folder (`runlock`): a second run into it stops before writing anything.

    A checkpoint, local or a URL, is always loaded with `weights_only=True`: unpickling one could run any code in
    it, and Lightning's default for URLs is to unpickle.
    """

    def _parse_ckpt_path(self) -> None:
        try:  # LightningCLI reads the checkpoint's hyper-parameters first, before any CheckpointIO
            super()._parse_ckpt_path()
        except UNREADABLE as err:
            raise unreadable(self.config[self.config.subcommand].get("ckpt_path"), err) from err

    def before_fit(self) -> None:
        fit = self.config_init["fit"]
        if fit.get("weights_only") is False:
            raise ValueError("weights_only: false is refused: ssl_mir never unpickles a checkpoint (it could run "
                             "code); its own checkpoints load with weights_only: true")
        fit["weights_only"] = True

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--log_to", type=LoggerKind, default="wandb", help="wandb (offline), csv or tensorboard")
        parser.add_argument("--on_nonfinite", type=OnNonFinite, default="raise",
                            help="a NaN/inf gradient stops the run (raise) or drops that step (skip)")
        parser.add_argument("--max_nonfinite_skips", type=int, default=10,
                            help="with --on_nonfinite skip, the run stops after more skipped steps than this")
        parser.add_argument("--checkpoint_every_n_steps", type=Optional[int], default=None,
                            help="also write last.ckpt every N optimiser steps (besides each epoch's end)")
        parser.add_argument("--checkpoint_every_n_minutes", type=Optional[float], default=None,
                            help="also write last.ckpt every M minutes of training")
        parser.add_argument("--health_every_n_steps", type=int, default=50,
                            help="steps between two health measurements of pre-training (std, RankMe, collapse)")
        parser.link_arguments("data.sample_rate", "model.init_args.encoder.init_args.sample_rate")
        if issubclass(self._model_class, Supervised):
            parser.link_arguments("data.target_task", "model.init_args.task", apply_on="instantiate")

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        config = self._get(self.config_init, "trainer", default={})
        root = Path(config.get("default_root_dir") or "runs")
        if is_rank_zero():
            hold(root)  # before anything is written there
        kwargs["precision"] = resolve_precision(str(config.get("accelerator", "auto")), config.get("precision"))
        if not config.get("plugins"):
            kwargs["plugins"] = [AtomicCheckpointIO()]  # checkpoints whole or absent; unreadable ones named
            if SLURMEnvironment.detect():  # SIGUSR1 is CheckpointOnStop's: it stops at a step's end, then requeues
                kwargs["plugins"].append(SLURMEnvironment(auto_requeue=False))
        if config.get("logger") in (None, True):
            kwargs["logger"] = make_logger(self._get(self.config, "log_to"), str(root))
        guard = NonFiniteGuard(self._get(self.config, "on_nonfinite"), self._get(self.config, "max_nonfinite_skips"))
        ours: list = [ExportEncoder(), guard]
        if issubclass(self._model_class, PretextModule):
            ours.append(HealthMonitor(self._get(self.config, "health_every_n_steps")))
        if config.get("enable_checkpointing") is not False:
            checkpoints = root / "checkpoints"
            ours += [ModelCheckpoint(dirpath=checkpoints, save_last=True, enable_version_counter=False), CheckpointOnStop(checkpoints),
                     PeriodicCheckpoint(checkpoints, self._get(self.config, "checkpoint_every_n_steps"),
                                        self._get(self.config, "checkpoint_every_n_minutes"))]
        extra = [self._get(self.config_init, c) for c in self._parser(self.subcommand).callback_keys]
        given = config.get("callbacks") or []
        theirs = [*extra, *(given if isinstance(given, list) else [given])]
        if config.get("max_time") is None and not any(isinstance(c, Timer) for c in theirs):
            ours.append(Timer(verbose=False))  # Lightning adds one only to stop at max_time; the export reads it
        if config.get("enable_progress_bar") is not False and not any(isinstance(c, ProgressBar) for c in theirs):
            ours.append(StepProgressBar())  # Lightning's would read the loss back from the device at every step
        return self._instantiate_trainer({**config, **kwargs}, extra + ours)


def lightning(model_class: type[LightningModule], data_class: type[LightningDataModule], args: list[str],
               root: str, command: str) -> SslMirCLI:
    with warnings.catch_warnings():  # sys.argv holds the command line too, for the DDP launcher (see `cli.main`)
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
        return SslMirCLI(
            model_class, data_class, subclass_mode_model=True, args=["fit", *args],
            save_config_kwargs={"overwrite": True}, trainer_defaults={"default_root_dir": root},
            seed_everything_default=0, parser_kwargs={"prog": f"ssl-mir {command}", "fit": {"default_env": False}},
        )
