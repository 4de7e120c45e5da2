"""The tutorial's encoder families over every time-frequency front end, with every clip aggregation."""

from __future__ import annotations

import math

import pytest
import torch

from ssl_mir.encoders import CRNN, BiRNN, Conv1dEncoder, DenseEncoder, VGGEncoder
from ssl_mir.frontends import CQT, STFT, Chroma, LogMel, Waveform


def small(cls: type, **kw: object):
    sizes = {DenseEncoder: {"hidden": [32, 32], "embed_dim": 16}, Conv1dEncoder: {"channels": [16, 16]},
             CRNN: {"channels": [8, 16], "gru_dim": 16}, BiRNN: {"hidden": 8},
             VGGEncoder: {"channels": [8, 16]}}[cls]
    return cls(**sizes, **kw)


FAMILIES = [DenseEncoder, Conv1dEncoder, VGGEncoder, CRNN, BiRNN]
FRONTENDS = {"logmel": lambda: LogMel(n_mels=40), "stft": lambda: STFT(n_fft=256), "cqt": lambda: CQT(n_octaves=6),
             "chroma": lambda: Chroma()}


@pytest.mark.parametrize("cls", FAMILIES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("frontend", FRONTENDS, ids=str)
@pytest.mark.parametrize("samples", [8000, 16000, 40000])
def test_frames_have_the_documented_shapes(cls: type, frontend: str, samples: int) -> None:
    enc = small(cls, frontend=FRONTENDS[frontend]()).eval()
    frames_in = samples // 256 + 1
    reduction = {DenseEncoder: 1, BiRNN: 1, Conv1dEncoder: 4, CRNN: 4, VGGEncoder: 4}[cls]
    frames = enc(torch.randn(2, samples))
    assert frames.shape == (2, math.ceil(frames_in / reduction), enc.embed_dim)
    assert enc.frame_rate == pytest.approx(16000 / 256 / reduction)
    assert [h.shape[1] for h in enc.layer_embeddings(torch.randn(2, samples))][-1] == enc.embed_dim


@pytest.mark.parametrize("aggregation", ["mean", "max", "strided", "recurrent"])
@pytest.mark.parametrize("cls", FAMILIES, ids=lambda c: c.__name__)
def test_every_aggregation_gives_one_clip_embedding_for_any_length(cls: type, aggregation: str) -> None:
    enc = small(cls, aggregation=aggregation).eval()
    for samples in (4000, 21000):
        assert enc.embed(torch.randn(3, samples)).shape == (3, enc.embed_dim)
    frames = torch.randn(2, 7, enc.embed_dim)
    if aggregation == "mean":
        torch.testing.assert_close(enc.pool(frames), frames.mean(1))
    if aggregation == "max":
        torch.testing.assert_close(enc.pool(frames), frames.amax(1))


def test_a_waveform_front_end_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="DenseEncoder needs a time-frequency front end.*Waveform"):
        DenseEncoder(frontend=Waveform())


@pytest.mark.parametrize("cls", FAMILIES, ids=lambda c: c.__name__)
def test_each_family_trains_with_falling_loss(cls: type) -> None:
    """Tones against noise, a linear head on the clip embedding: 15 Adam steps lower the loss."""
    torch.manual_seed(0)
    t = torch.arange(8000) / 16000
    tones = torch.stack([torch.sin(2 * math.pi * f * t) for f in torch.linspace(200, 2000, 8)])
    wave = torch.cat([0.5 * tones, 0.5 * torch.randn(8, 8000)])
    labels = torch.cat([torch.zeros(8), torch.ones(8)]).long()
    enc = small(cls)
    head = torch.nn.Linear(enc.embed_dim, 2)
    optimizer = torch.optim.Adam([*enc.parameters(), *head.parameters()], lr=3e-3)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(head(enc.embed(wave)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
