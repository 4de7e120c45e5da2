"""Health signals by hand, and a run that is the same with and without them."""

from __future__ import annotations

import math

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader

from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.health import HealthMonitor, embedding_std, rankme
from ssl_mir.pretext import SimCLR


def test_rankme_by_hand() -> None:
    assert rankme(torch.eye(4)).item() == pytest.approx(4.0, rel=1e-4)  # equal singular values: the full rank
    line = torch.outer(torch.arange(1.0, 7.0), torch.tensor([1.0, -2.0, 0.5]))
    assert rankme(line).item() == pytest.approx(1.0, abs=1e-3)  # rank one
    x = torch.diag(torch.tensor([3.0, 1.0]))  # p = (3/4, 1/4)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert rankme(x).item() == pytest.approx(math.exp(entropy), rel=1e-4)


def test_embedding_std_by_hand() -> None:
    assert embedding_std(torch.ones(5, 3) * 7.0).item() == pytest.approx(0.0, abs=1e-7)  # collapsed
    # Two opposite one-hot rows: dimension 0 takes 1 and -1 (std 1), dimension 1 is 0: mean 0.5.
    assert embedding_std(torch.tensor([[2.0, 0.0], [-5.0, 0.0]])).item() == pytest.approx(0.5)


def _run(tmp_path: str, health: bool) -> tuple[dict[str, torch.Tensor], CSVLogger]:
    """Noise through a 4-channel network: nearly one point for every input (collapse checks are off here; they are
    tested in tests/test_guard.py)."""
    torch.manual_seed(0)
    model = SimCLR(ShortChunkCNN(channels=[4, 8], n_mels=16))
    data = DataLoader([{"views": torch.randn(2, 8000)} for _ in range(12)], batch_size=4, shuffle=True)
    logger = CSVLogger(tmp_path)
    pl.seed_everything(0)
    pl.Trainer(max_steps=4, accelerator="cpu", logger=logger, enable_checkpointing=False, log_every_n_steps=1,
               callbacks=[HealthMonitor(every_n_steps=1, collapse_ratio=0.0)] if health else [], enable_progress_bar=False,
               enable_model_summary=False).fit(model, data)
    return model.state_dict(), logger


def test_health_is_logged_and_leaves_the_run_unchanged(tmp_path: object) -> None:
    with_health, logger = _run(str(tmp_path / "a"), True)  # type: ignore[operator]
    without, _ = _run(str(tmp_path / "b"), False)  # type: ignore[operator]
    for k in without:
        assert torch.equal(with_health[k], without[k]), k  # weights and BatchNorm statistics
    metrics = (tmp_path / "a").rglob("metrics.csv")  # type: ignore[operator]
    header = next(iter(metrics)).read_text().splitlines()[0]
    assert "health/std" in header and "health/rankme" in header
