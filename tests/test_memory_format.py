"""Channels-last training (ssl_mir.memory_format): 2-D convolution weights change layout when fit starts, values and
outputs do not; the option turns it off."""

from __future__ import annotations

import torch

from ssl_mir.encoders import SampleCNN, ShortChunkCNN
from ssl_mir.pretext import SimCLR


def test_fit_start_puts_conv2d_weights_channels_last_with_the_same_outputs() -> None:
    torch.manual_seed(0)
    model = SimCLR(ShortChunkCNN(channels=[4, 8], n_mels=16)).eval()
    wave = 0.1 * torch.randn(3, 16000)
    before = model.encoder.embed(wave)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    model.on_fit_start()
    conv = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)][-1].weight  # (8, 4, 3, 3)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    torch.testing.assert_close(model.encoder.embed(wave), before, atol=1e-5, rtol=1e-5)


def test_the_option_leaves_weights_as_they_are() -> None:
    model = SimCLR(ShortChunkCNN(channels=[4, 8], n_mels=16), channels_last=False)
    model.on_fit_start()
    assert all(p.is_contiguous() for p in model.parameters())
    one_d = SimCLR(SampleCNN(channels=[8, 8, 8, 16]))
    one_d.on_fit_start()  # 1-D convolutions have 3-D weights: nothing to change
    assert all(p.is_contiguous() for p in one_d.parameters())
