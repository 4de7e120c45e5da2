"""Pooling of frozen frames over time, by hand, for every encoder alike (MFCC statistics included)."""

from pathlib import Path

import pytest
import torch

from ssl_mir.data.datasets import ChunkDataset
from ssl_mir.data.manifest import Manifest
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.encoders.base import pool_frames
from ssl_mir.encoders.mfcc import MFCCStats
from ssl_mir.evaluation.cache import cached_extract


def test_pool_frames_by_hand() -> None:
    frames = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [5.0, 0.0]]])  # (B=1, T=3, D=2)
    torch.testing.assert_close(pool_frames(frames, "mean"), torch.tensor([[3.0, 2.0 / 3.0]]))
    torch.testing.assert_close(pool_frames(frames, "max"), torch.tensor([[5.0, 4.0]]))
    std = [(8.0 / 3.0) ** 0.5, ((2.0 + 2.0 / 3.0) ** 2 / 3.0 + (4.0 - 2.0 / 3.0) ** 2 / 3.0 + (2.0 / 3.0) ** 2 / 3.0)
           ** 0.5]
    torch.testing.assert_close(pool_frames(frames, "mean_std"), torch.tensor([[3.0, 2.0 / 3.0, *std]]))
    torch.testing.assert_close(pool_frames(frames[:, :1], "mean_std"), torch.tensor([[1.0, -2.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="pooling must be mean, mean_std or max, got 'median'"):
        pool_frames(frames, "median")  # type: ignore[arg-type]


@pytest.mark.parametrize("pooling, width", [("mean", 60), ("max", 60), ("mean_std", 120), ("encoder", 120)])
def test_every_layer_pooled_alike_mfcc_included(pooling: str, width: int) -> None:
    torch.manual_seed(0)
    wave = torch.randn(2, 16000)
    mfcc = MFCCStats()
    frames = mfcc(wave)  # (B, T, 60)
    (x,) = mfcc.layer_embeddings(wave, pooling)  # type: ignore[arg-type]
    assert x.shape == (2, width)
    expected = {"mean": frames.mean(1), "max": frames.amax(1), "mean_std": mfcc.embed(wave),
                "encoder": mfcc.embed(wave)}[pooling]
    torch.testing.assert_close(x, expected)
    cnn = ShortChunkCNN(channels=[4, 8], n_mels=16).eval()
    states = cnn.hidden_states(wave)
    layers = cnn.layer_embeddings(wave, pooling)  # type: ignore[arg-type]
    assert len(layers) == len(states)
    for h, pooled in zip(states, layers):
        how = "mean" if pooling == "encoder" else pooling
        torch.testing.assert_close(pooled, pool_frames(h, how))  # type: ignore[arg-type]


def test_cache_keys_the_pooling(corpus: Path, tmp_path: Path) -> None:
    chunks = ChunkDataset(Manifest.load(corpus).check().rows[:3], 16000, 16000)
    cnn = ShortChunkCNN(channels=[4, 8], n_mels=16).eval()
    mean = cached_extract(cnn, chunks, tmp_path, pooling="mean")
    mean_std = cached_extract(cnn, chunks, tmp_path, pooling="mean_std")
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    assert mean_std.x.shape[1] == 2 * mean.x.shape[1]
    torch.testing.assert_close(mean_std.x[:, : mean.x.shape[1]], mean.x)
