import pytest
import torch

from ssl_mir.encoders import SampleCNN, ShortChunkCNN
from ssl_mir.export import build_encoder


@pytest.mark.parametrize("seconds", [1.0, 2.05, 4.1])
def test_short_chunk_cnn_frames(seconds: float) -> None:
    enc = ShortChunkCNN(channels=[8, 8, 16], n_mels=32).eval()
    wave = torch.randn(2, int(seconds * 16000))
    frames = enc(wave)
    n_spec = int(seconds * 16000) // 256 + 1
    assert frames.shape == (2, -(-n_spec // 8), 16)
    assert [h.shape[-1] for h in enc.hidden_states(wave)] == [8, 8, 16]
    assert enc.embed(wave).shape == (2, 16)


@pytest.mark.parametrize("n_samples, frames", [(3**6, 1), (3**6 * 3, 3), (3**6 * 2 + 100, 2)])
def test_samplecnn_frames(n_samples: int, frames: int) -> None:
    enc = SampleCNN(channels=[8, 8, 8, 8, 8, 16]).eval()
    assert enc(torch.randn(2, n_samples)).shape == (2, frames, 16)
    assert enc.receptive_samples == 3**6
    with pytest.raises(ValueError, match="at least 729 samples"):
        enc(torch.randn(1, 700))


def test_clmr_samplecnn_maps_59049_samples_to_one_frame() -> None:
    enc = SampleCNN().eval()
    assert enc(torch.randn(1, 59049)).shape == (1, 1, 512)


def test_config_rebuilds_the_same_architecture() -> None:
    enc = ShortChunkCNN(sample_rate=22050, channels=[4, 8], n_mels=40, mel_mean=-3.0)
    config = {"class_path": enc.class_path, "init_args": enc.get_config()}
    assert config["init_args"]["sample_rate"] == 22050 and config["init_args"]["mel_mean"] == -3.0
    clone = build_encoder(config)
    assert {k: v.shape for k, v in clone.state_dict().items()} == {k: v.shape for k, v in enc.state_dict().items()}
    assert float(clone.frontend.mean) == -3.0
