"""bf16 on a CPU only where it is native: the rule, and the training and evaluation commands that follow it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import pytorch_lightning as pl

from ssl_mir import precision
from ssl_mir.cli import main
from ssl_mir.precision import resolve_precision

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("native", [True, False])
def test_bf16_runs_in_fp32_on_a_cpu_without_it(native: bool, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="ssl_mir.precision"):
        assert resolve_precision("cpu", "bf16-mixed") == ("bf16-mixed" if native else "32-true")
        assert resolve_precision("auto", "bf16-true") == ("bf16-true" if native else "32-true")
    assert ("without native bf16" in caplog.text) is not native
    assert resolve_precision("gpu", "bf16-mixed") == "bf16-mixed"  # a GPU's precision is its own
    assert resolve_precision("cpu", "32-true") == "32-true"
    assert resolve_precision("cpu", "16-mixed") == "16-mixed"
    assert resolve_precision("cpu", None) is None


class RecordPrecision(pl.Callback):
    """Keeps the precision the trainer runs at, as the CLI built it."""

    seen: list[str] = []

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        RecordPrecision.seen.append(str(trainer.precision))


@pytest.mark.parametrize("native", [True, False])
def test_pretrain_and_probe_follow_the_rule(native: bool, corpus: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """configs/trainer/cpu.yaml asks bf16-mixed: the trainer gets it only where the CPU has bf16."""
    from ssl_mir.commands.evaluation import OneDevice

    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    RecordPrecision.seen.clear()
    main(["pretrain", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "data" / "synthetic.yaml"),
          "-c", str(CONFIGS / "pretrain" / "simclr_cnn2d.yaml"), "--data.manifest", str(corpus),
          "--data.batch_size", "2", "--data.num_workers", "0", "--log_to", "csv",
          "--model.init_args.encoder.init_args.channels", "[4, 8]", "--model.init_args.encoder.init_args.n_mels", "16",
          "--trainer.callbacks+=tests.test_precision.RecordPrecision", "--trainer.fast_dev_run", "true",
          "--trainer.default_root_dir", str(tmp_path)])
    assert RecordPrecision.seen == ["bf16-mixed" if native else "32-true"]
    assert OneDevice("cpu", "bf16-mixed", 1).precision == ("bf16-mixed" if native else "32-true")
