"""The HEAR 2021 API (`ssl_mir.hear`) over exported encoders of every family, checked by the public hearvalidator
(its TensorFlow import stubbed: the check of a PyTorch model never calls TensorFlow)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from ssl_mir import hear
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.export import save_encoder
from tests.encoder_zoo import EVERY_FAMILY, FAMILY_IDS


@pytest.fixture
def validator(monkeypatch: pytest.MonkeyPatch) -> type:
    stub = types.ModuleType("tensorflow")
    stub.Module = type("Module", (), {})  # isinstance(torch model, tf.Module) is False, as with TensorFlow
    monkeypatch.setitem(sys.modules, "tensorflow", stub)
    monkeypatch.delitem(sys.modules, "hearvalidator.validate", raising=False)
    from hearvalidator.validate import ValidateModel

    return ValidateModel


@pytest.mark.parametrize("make", EVERY_FAMILY, ids=FAMILY_IDS)
def test_hearvalidator_accepts_every_family(make, validator: type, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    save_encoder(make(), tmp_path / "encoder")
    # The validator calls load_model(path) only: one-second chunks suit the test encoders' small position tables.
    monkeypatch.setattr(hear, "load_model", lambda path: hear.HearModel(hear.load_encoder(path), chunk_seconds=1.0))
    validator("ssl_mir.hear", str(tmp_path / "encoder"), device="cpu")()  # raises ModelError on any mismatch


def test_timestamps_are_frame_centres_and_chunks_are_encoded_alone(tmp_path: Path) -> None:
    torch.manual_seed(0)
    encoder = ShortChunkCNN(channels=[4, 8], n_mels=16)
    save_encoder(encoder, tmp_path / "encoder")
    model = hear.load_model(str(tmp_path / "encoder"), chunk_seconds=1.0)
    audio = 0.1 * torch.randn(2, 40000)  # 2.5 s: two whole chunks and a padded half
    frames, times = hear.get_timestamp_embeddings(audio, model)
    per_chunk = model.frames_per_chunk
    hop = 1000.0 / per_chunk
    assert times.shape == frames.shape[:2] and frames.dtype == torch.float32
    torch.testing.assert_close(times[0], (torch.arange(frames.shape[1]) + 0.5) * hop)
    assert times[0, -1] < 2500.0 <= times[0, -1] + hop  # every frame centred inside the sound, none missing
    loaded = hear.load_encoder(tmp_path / "encoder")
    with torch.no_grad():
        second = loaded(audio[:, 16000:32000])  # (2, T, D): the second chunk on its own
    torch.testing.assert_close(frames[:, per_chunk:2 * per_chunk], second)
    scenes = hear.get_scene_embeddings(audio, model)
    torch.testing.assert_close(scenes, torch.cat([frames.mean(1), frames.std(1, unbiased=False)], dim=1))
    assert scenes.shape == (2, model.scene_embedding_size)


def test_load_model_needs_an_exported_folder() -> None:
    with pytest.raises(ValueError, match="needs an exported encoder folder"):
        hear.load_model("")
    with pytest.raises(FileNotFoundError):
        hear.load_model("/nowhere/encoder")
