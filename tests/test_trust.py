"""Encoders from the user's own package: refused by default (loading names the class and the way to trust it),
loaded once the package is trusted with --trust or SSL_MIR_TRUST, in Python and on the command line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_mir.cli import main
from ssl_mir.configurable import TRUST_ENV, trust
from ssl_mir.export import load_encoder, save_encoder

MODULE = textwrap.dedent('''
    import torch
    from torch import nn
    from ssl_mir.encoders.base import Encoder

    class Framed(Encoder):
        """Frames of 1,000 samples through one linear layer."""

        def __init__(self, dim: int = 8) -> None:
            super().__init__()
            self.sample_rate, self.embed_dim, self.frame_rate = 16000, dim, 16.0
            self.linear = nn.Linear(1000, dim)

        def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
            return [self.linear(wave[:, : wave.shape[1] // 1000 * 1000].unflatten(1, (-1, 1000)))]
''')


@pytest.fixture
def own_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my_encoders.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(TRUST_ENV, "")  # restored after the test, whatever trust() sets
    from my_encoders import Framed

    torch.manual_seed(0)
    return save_encoder(Framed(), tmp_path / "encoder")


def test_an_untrusted_package_is_refused_and_a_trusted_one_loads(own_encoder: Path) -> None:
    with pytest.raises(ValueError, match=r"refusing to import my_encoders\.Framed.*--trust my_encoders"):
        load_encoder(own_encoder)
    trust("my_encoders")
    encoder = load_encoder(own_encoder)
    wave = torch.randn(2, 4000)
    assert encoder(wave).shape == (2, 4, 8)
    with pytest.raises(ValueError, match="refusing to import"):
        load_encoder(own_encoder, allowed=("ssl_mir.",))  # an explicit list overrides the trust


def test_the_command_line_takes_trust(own_encoder: Path, tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    audio.mkdir()
    import soundfile as sf

    sf.write(audio / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(16000).astype(np.float32), 16000)
    args = ["embed", "--encoder", str(own_encoder), "--data", str(audio), "--out", str(tmp_path / "out")]
    with pytest.raises(ValueError, match="--trust my_encoders"):
        main(args)
    main([*args, "--trust", "my_encoders"])
    assert np.load(tmp_path / "out" / "embeddings.npy").shape == (1, 8)
