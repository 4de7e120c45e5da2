from pathlib import Path

import pytest
import torch

from ssl_mir.data.datasets import ChunkDataset
from ssl_mir.data.manifest import Manifest
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.cache import cached_extract


@pytest.fixture
def chunks(corpus: Path) -> ChunkDataset:
    return ChunkDataset(Manifest.load(corpus).check().rows[:4], 16000, 16000)


def test_cache_is_hit_on_the_second_run(chunks: ChunkDataset, tmp_path: Path) -> None:
    torch.manual_seed(0)
    encoder = ShortChunkCNN(channels=[4, 8], n_mels=16).eval()
    first = cached_extract(encoder, chunks, tmp_path)
    assert len(list(tmp_path.glob("*.safetensors"))) == 1

    def no_forward(wave: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the encoder ran although the embeddings were cached")

    encoder.embed = no_forward  # type: ignore[method-assign]
    second = cached_extract(encoder, chunks, tmp_path)
    torch.testing.assert_close(second.x, first.x, rtol=0, atol=0)
    assert torch.equal(second.clip, first.clip)


def test_cache_is_invalidated_by_the_encoder_and_the_data(chunks: ChunkDataset, tmp_path: Path) -> None:
    torch.manual_seed(0)
    encoder = ShortChunkCNN(channels=[4, 8], n_mels=16).eval()
    first = cached_extract(encoder, chunks, tmp_path)
    with torch.no_grad():
        encoder.layers[0][0].weight.mul_(2.0)  # another checkpoint of the same architecture
    changed = cached_extract(encoder, chunks, tmp_path)
    assert len(list(tmp_path.glob("*.safetensors"))) == 2
    assert not torch.equal(changed.x, first.x)
    shorter = ChunkDataset(chunks.rows, 16000, 8000)  # another chunking of the same files
    assert len(cached_extract(encoder, shorter, tmp_path).x) == 2 * len(first.x)
    assert len(list(tmp_path.glob("*.safetensors"))) == 3
