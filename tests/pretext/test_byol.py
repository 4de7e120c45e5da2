"""BYOL-A: the loss, the EMA update and its schedule, and the spectrogram augmentations, against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from ssl_mir.augment.spectrogram import LogMixupExp, RandomResizeCrop
from ssl_mir.encoders import CRNN, ShortChunkCNN
from ssl_mir.pretext import BYOLA
from ssl_mir.pretext.ema import ema_update, target_momentum
from ssl_mir.pretext.losses import byol_loss


def test_byol_loss_equals_two_minus_twice_the_cosine() -> None:
    p, z = torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 2.0], [3.0, 3.0]])
    assert byol_loss(p, z).item() == pytest.approx(((2 - 0) + (2 - 2)) / 2)
    z.requires_grad_(True)
    byol_loss(p.requires_grad_(True), z).backward()
    assert z.grad is None or not z.grad.any()  # the target gets no gradient


def test_ema_update_and_its_cosine_schedule() -> None:
    online, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = target.weight.detach().clone()
    ema_update(target, online, 0.9)
    torch.testing.assert_close(target.weight, 0.9 * before + 0.1 * online.weight.detach())
    assert target_momentum(0.99, 0, 100) == pytest.approx(0.99)
    assert target_momentum(0.99, 50, 100) == pytest.approx(0.995)
    assert target_momentum(0.99, 100, 100) == pytest.approx(1.0)


def test_random_resize_crop_is_the_identity_at_scale_one_and_reproducible() -> None:
    x = torch.randn(3, 1, 16, 20)
    identity = RandomResizeCrop((1.0, 1.0), (1.0, 1.0), (1.0, 1.0))
    torch.testing.assert_close(identity(x), x, atol=1e-5, rtol=0)
    crop = RandomResizeCrop()
    torch.manual_seed(0)
    a = crop(x)
    torch.manual_seed(0)
    assert torch.equal(a, crop(x)) and a.shape == x.shape and not torch.equal(a[0], a[1])
    zoomed = RandomResizeCrop((1.0, 1.0), (0.5, 0.5), (0.5, 0.5))(torch.arange(4.0).repeat_interleave(5)[None, None, None]
                                                               .expand(1, 1, 4, 20).contiguous())
    assert zoomed.shape == (1, 1, 4, 20) and not torch.isnan(zoomed).any()


def test_log_mixup_exp_mixes_in_linear_scale_within_the_ratio() -> None:
    torch.manual_seed(0)
    mixup = LogMixupExp(ratio=0.4, memory_size=4)
    first = torch.randn(3, 1, 8, 10)
    mixed = mixup(first)
    assert mixup.memory is not None and len(mixup.memory) == 3
    second = torch.randn(3, 1, 8, 10)
    out = mixup(second)
    assert len(mixup.memory) == 4  # FIFO, newest first
    # exp(out) = (1 - λ) e^x + λ e^m with λ ≤ 0.4: between 0.6 e^x and e^x + 0.4 e^m.
    assert (out.exp() >= 0.6 * second.exp() - 1e-5).all()
    assert (out.exp() <= second.exp() + 0.4 * torch.cat([first, second]).exp().amax(0) + 1e-5).all()
    silent = torch.full((2, 1, 8, 10), math.log(1e-5))
    assert not torch.isnan(LogMixupExp()(silent)).any() and not torch.isnan(mixed).any()


@pytest.mark.parametrize("make", [lambda: CRNN(channels=[4, 8], gru_dim=8),
                                  lambda: ShortChunkCNN(channels=[4, 8], n_mels=32)], ids=["crnn", "short_chunk_cnn"])
def test_byola_step_updates_only_the_online_network_and_exports_it(make) -> None:
    torch.manual_seed(0)
    encoder = make()
    model = BYOLA(encoder, projection_dim=8, hidden_dim=16, memory_size=8)
    wave = torch.randn(4, 16000)
    loss = model.training_step({"views": wave[:, None]}, 0)
    loss.backward()
    assert all(p.grad is not None for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.target_encoder.parameters())
    assert 0.0 <= loss.item() <= 8.0  # two terms of 2 - 2 cos
