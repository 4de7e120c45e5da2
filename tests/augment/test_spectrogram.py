"""SpecAugment's masks: the drawn bands and nothing else, per row; active in training only, exported with the encoder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ssl_mir.augment.spectrogram import LogMixupExp, RandomResizeCrop, SpecAugment, band_mask, draw_masks
from ssl_mir.cli import main
from ssl_mir.encoders import CRNN, PatchTransformer, ShortChunkCNN
from ssl_mir.export import load_encoder, save_encoder

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_band_mask_covers_exactly_the_bands() -> None:
    mask = band_mask(torch.tensor([[2, 7], [0, 0]]), torch.tensor([[3, 1], [0, 4]]), 10, torch.device("cpu"))
    assert mask.int().tolist() == [[0, 0, 1, 1, 1, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]]


def test_masks_zero_the_drawn_region_and_nothing_else() -> None:
    spec = torch.randn(8, 1, 96, 128) + 5.0  # no cell is 0 before masking
    augment = SpecAugment(freq_masks=2, max_freq_fraction=0.2, time_masks=3, max_time_fraction=0.1)
    torch.manual_seed(0)
    out = augment(spec)
    torch.manual_seed(0)  # the same draws, by hand
    freq = band_mask(*draw_masks(8, 96, 2, 0.2), 96, spec.device)
    time = band_mask(*draw_masks(8, 128, 3, 0.1), 128, spec.device)
    expected = (freq[:, :, None] | time[:, None, :]).unsqueeze(1)
    assert torch.equal(out == 0, expected)
    assert torch.equal(out[~expected], spec[~expected])
    masked_rows, masked_cols = (out == 0).all(dim=3).squeeze(1), (out == 0).all(dim=2).squeeze(1)
    assert masked_rows.sum(dim=1).max() <= 2 * int(0.2 * 96) and masked_cols.sum(dim=1).max() <= 3 * int(0.1 * 128)
    assert masked_rows.any() and masked_cols.any()
    assert not torch.equal(expected[0], expected[1])  # each row its own masks


def test_silence_and_bad_settings() -> None:
    out = SpecAugment()(torch.zeros(2, 1, 16, 32))
    assert torch.isfinite(out).all()
    with pytest.raises(ValueError, match="max_time_fraction must be in \\[0, 1\\], got 1.5"):
        SpecAugment(max_time_fraction=1.5)


SPEC_AUGMENTED = {
    "crnn": lambda masks: CRNN(channels=[4, 8], gru_dim=16, spec_augment=masks),
    "short_chunk_cnn": lambda masks: ShortChunkCNN(channels=[4, 8], spec_augment=masks),
    "transformer": lambda masks: PatchTransformer(dim=24, depth=1, heads=2, spec_augment=masks),
}


@pytest.mark.parametrize("name", sorted(SPEC_AUGMENTED))
def test_encoder_masks_while_training_only_and_exports_the_setting(name: str, tmp_path: Path) -> None:
    encoder = SPEC_AUGMENTED[name](SpecAugment(max_freq_fraction=0.5, max_time_fraction=0.5))
    wave = torch.randn(2, 16000)
    encoder.train()
    torch.manual_seed(0)
    a = encoder.hidden_states(wave)[-1]
    torch.manual_seed(1)
    assert not torch.allclose(a, encoder.hidden_states(wave)[-1])
    encoder.eval()
    torch.testing.assert_close(encoder(wave), encoder(wave))  # no masks in eval
    save_encoder(encoder, tmp_path / name)
    loaded = load_encoder(tmp_path / name)
    assert isinstance(loaded.spec_augment, SpecAugment) and loaded.spec_augment.max_freq_fraction == 0.5
    torch.testing.assert_close(loaded(wave), encoder(wave))


def test_masked_prediction_targets_stay_whole() -> None:
    """MAE and BEST-RQ read the transformer's patches as targets: SpecAugment must not mask them."""
    encoder = PatchTransformer(dim=24, depth=1, heads=2, spec_augment=SpecAugment(max_freq_fraction=1.0)).train()
    wave = torch.randn(2, 16000)
    plain = PatchTransformer(dim=24, depth=1, heads=2)
    torch.testing.assert_close(encoder.patches(wave)[0], plain.patches(wave)[0])


def test_pretraining_with_spec_augment_runs(corpus: Path, tmp_path: Path) -> None:
    main(["pretrain", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "data" / "synthetic.yaml"),
          "-c", str(CONFIGS / "pretrain" / "cola_crnn.yaml"), "--data.manifest", str(corpus),
          "--model.init_args.encoder.init_args.spec_augment", "ssl_mir.augment.spectrogram.SpecAugment",
          "--data.batch_size", "2", "--data.num_workers", "0", "--log_to", "csv", "--trainer.fast_dev_run", "true",
          "--trainer.default_root_dir", str(tmp_path), "--trainer.enable_progress_bar", "false"])
    assert isinstance(load_encoder(tmp_path / "encoder").spec_augment, SpecAugment)


@pytest.mark.parametrize("make", [SpecAugment, LogMixupExp, RandomResizeCrop], ids=lambda c: c.__name__)
def test_spectrogram_augmentations_are_seeded_keep_shape_and_survive_silence(make: type) -> None:
    spec = torch.randn(4, 1, 32, 64)
    outs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        outs.append(make()(spec))
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    assert outs[0].shape == spec.shape
    floor = torch.full((4, 1, 32, 64), torch.log(torch.tensor(1e-8)).item())  # log(0 + eps): a silent log-mel
    assert torch.isfinite(make()(floor)).all() and torch.isfinite(make()(torch.zeros(4, 1, 32, 64))).all()
