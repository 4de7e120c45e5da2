import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.export import all_finite, load_encoder, non_finite, save_encoder
from tests.encoder_zoo import EVERY_FAMILY, FAMILY_IDS


@pytest.mark.parametrize("make", EVERY_FAMILY, ids=FAMILY_IDS)
def test_export_load_round_trip_gives_identical_outputs(tmp_path: Path, make) -> None:
    torch.manual_seed(0)
    enc = make()
    enc.train()
    for _ in range(3):  # move the batch-norm running statistics away from their initial values
        enc(torch.randn(4, 16000))
    enc.eval()
    enc.requires_grad_(False)  # as loaded; recurrent layers take another kernel when gradients are on
    save_encoder(enc, tmp_path / "art", meta={"method": "test"})
    loaded = load_encoder(tmp_path / "art")
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    wave = torch.randn(3, 16000)
    torch.testing.assert_close(loaded(wave), enc(wave), rtol=0, atol=0)
    config = json.loads((tmp_path / "art" / "encoder.json").read_text())
    assert config["embed_dim"] == enc.embed_dim and config["meta"]["method"] == "test"


def test_loading_is_strict_and_refuses_foreign_classes(tmp_path: Path) -> None:
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "art")
    weights = load_file(str(tmp_path / "art" / "encoder.safetensors"))
    weights.pop("layers.0.0.weight")
    save_file(weights, str(tmp_path / "art" / "encoder.safetensors"))
    with pytest.raises(RuntimeError, match="Missing key.*layers.0.0.weight"):
        load_encoder(tmp_path / "art")
    config = json.loads((tmp_path / "art" / "encoder.json").read_text())
    config["class_path"] = "os.system"
    (tmp_path / "art" / "encoder.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="refusing to import os.system"):
        load_encoder(tmp_path / "art")
    with pytest.raises(FileNotFoundError, match="not an exported encoder"):
        load_encoder(tmp_path)


def test_an_encoder_with_non_finite_weights_is_never_exported(tmp_path: Path) -> None:
    encoder = ShortChunkCNN(channels=[4, 8], n_mels=16)
    encoder.layers[1][1].running_var.fill_(float("inf"))  # what a learning rate of 1e12 leaves
    with pytest.raises(ValueError, match=r"refusing to export an encoder whose weights are NaN or infinite "
                                         r"\(layers.1.1.running_var\)"):
        save_encoder(encoder, tmp_path / "enc")
    assert not (tmp_path / "enc").exists()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_all_finite_finds_one_bad_value_among_many_tensors(bad: float) -> None:
    """One read-back for all the tensors (what the divergence guard checks each step) finds a single bad value in
    any of them, in any float dtype; integer tensors and missing gradients are left out."""
    tensors = [torch.randn(3, 4), None, torch.randn(7).bfloat16(), torch.arange(5), torch.randn(2, 2, 2).double()]
    assert all_finite(tensors) and all_finite([]) and all_finite([torch.arange(3)])
    for i in (0, 2, 4):
        broken = [t.clone() if t is not None else None for t in tensors]
        broken[i].view(-1)[-1] = bad
        assert not all_finite(broken)
        assert non_finite(enumerate(broken)) == [i]
