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


def test_a_non_finite_embedding_is_an_error_naming_the_file_and_is_not_cached(chunks: ChunkDataset,
                                                                             tmp_path: Path) -> None:
    from ssl_mir.evaluation.embeddings import NonFiniteEmbeddingError

    torch.manual_seed(0)
    encoder = ShortChunkCNN(channels=[4, 8], n_mels=16).eval()
    original = encoder.layer_embeddings

    def nan_for_the_third_clip(wave: torch.Tensor, pooling: str = "encoder") -> list[torch.Tensor]:
        layers = original(wave, pooling)  # type: ignore[arg-type]
        layers[1][(wave[:, :100] == third[:100]).all(dim=1)] = float("nan")  # the chunks of the third clip only
        return layers

    third = chunks[[c["clip"] for c in (chunks[i] for i in range(len(chunks)))].index(2)]["wave"]
    encoder.layer_embeddings = nan_for_the_third_clip  # type: ignore[method-assign]
    with pytest.raises(NonFiniteEmbeddingError, match=f"{chunks.rows[2].path}: the encoder's layer 1 holds NaN"):
        cached_extract(encoder, chunks, tmp_path, batch_size=3)
    assert not list(tmp_path.glob("*.safetensors"))


@pytest.mark.parametrize("damage", ["truncated", "not finite"])
def test_a_damaged_entry_is_computed_again_with_a_warning(damage: str, chunks: ChunkDataset, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    encoder = ShortChunkCNN(channels=[4, 8], n_mels=16).eval()
    first = cached_extract(encoder, chunks, tmp_path)
    entry = next(tmp_path.glob("*.safetensors"))
    if damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:100])
    else:
        stored = load_file(str(entry))
        stored["layer_0"][0, 0] = float("nan")
        save_file(stored, str(entry))
    again = cached_extract(encoder, chunks, tmp_path)
    assert f"embedding cache entry {entry} is unreadable" in caplog.text
    torch.testing.assert_close(again.x, first.x, rtol=0, atol=0)
    assert bool(load_file(str(entry))["layer_0"].isfinite().all())  # the entry was written again
