"""Every configs/frontend/*.yaml composes after a method whose encoder takes a front end, and trains."""

from pathlib import Path

import pytest
import torch

from ssl_mir.cli import main
from ssl_mir.export import load_encoder

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
FRONTENDS = sorted((CONFIGS / "frontend").glob("*.yaml"))


@pytest.mark.parametrize("frontend", FRONTENDS, ids=lambda p: p.stem)
def test_frontend_config_swaps_the_encoders_front_end(frontend: Path, corpus: Path, tmp_path: Path) -> None:
    main(["pretrain", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "data" / "synthetic.yaml"),
          "-c", str(CONFIGS / "pretrain" / "cola_crnn.yaml"), "-c", str(frontend), "--data.manifest", str(corpus),
          "--data.batch_size", "2", "--data.num_workers", "0", "--log_to", "csv",
          "--trainer.fast_dev_run", "true", "--trainer.default_root_dir", str(tmp_path),
          "--trainer.enable_progress_bar", "false"])
    encoder = load_encoder(tmp_path / "encoder")
    expected = {"logmel": "LogMel", "stft": "STFT", "cqt": "CQT", "chroma": "Chroma"}[frontend.stem]
    assert type(encoder.frontend).__name__ == expected
    assert encoder.embed(torch.randn(1, 20000)).shape == (1, encoder.embed_dim)
