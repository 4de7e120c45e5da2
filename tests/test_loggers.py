"""The run loggers: CSV and TensorBoard where asked, and a clear error where TensorBoard is not installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pytorch_lightning.loggers import TensorBoardLogger

from ssl_mir.loggers import KeepingCSVLogger, make_logger


def test_csv_and_tensorboard_loggers_write_under_the_run(tmp_path: Path) -> None:
    assert isinstance(make_logger("csv", str(tmp_path)), KeepingCSVLogger)
    logger = make_logger("tensorboard", str(tmp_path))
    assert isinstance(logger, TensorBoardLogger) and Path(logger.log_dir).resolve() == tmp_path.resolve()


def test_tensorboard_without_the_package_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("tensorboard", "tensorboardX") else real(name, *a))
    with pytest.raises(ValueError, match=r"pip install 'ssl_mir\[tensorboard\]'"):
        make_logger("tensorboard", str(tmp_path))
