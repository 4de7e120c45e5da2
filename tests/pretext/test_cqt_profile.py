"""SimCLR's auxiliary pitch-profile loss (`cqt_weight`, MERT's CQT teacher at the clip level)."""

import math

import torch

from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.pretext import SimCLR
from ssl_mir.pretext.losses import nt_xent

SR = 16000


def _tiny(weight: float) -> SimCLR:
    torch.manual_seed(0)
    return SimCLR(ShortChunkCNN(n_mels=32, channels=[4, 8]), projection_dim=8, temperature=0.1, cqt_weight=weight)


def test_the_target_peaks_at_the_notes_played() -> None:
    t = torch.arange(SR) / SR
    a4, e5 = 440.0, 440.0 * 2 ** (7 / 12)
    wave = torch.stack([torch.sin(2 * math.pi * a4 * t), torch.sin(2 * math.pi * a4 * t) + torch.sin(2 * math.pi * e5 * t)])
    target = _tiny(1.0).profile.target(0.3 * wave)  # (2, 84) bins from C1
    a4_bin, e5_bin = 4 * 12 + 9 - 12, 4 * 12 + 9 - 12 + 7  # A4 is 45 semitones above C1
    assert int(target[0].argmax()) == a4_bin
    assert set(target[1].topk(2).indices.tolist()) == {a4_bin, e5_bin}
    torch.testing.assert_close(target.mean(dim=-1), torch.zeros(2), atol=1e-5, rtol=0)  # standardised per row
    torch.testing.assert_close(target.std(dim=-1, unbiased=False), torch.ones(2), atol=1e-3, rtol=0)


def test_loss_is_nt_xent_plus_the_weighted_profile_mse_by_hand() -> None:
    method = _tiny(0.5)
    method.eval()  # batch norm on running statistics: the same embeddings in both passes
    views = 0.1 * torch.randn(4, 2, 8000)
    with torch.no_grad():
        loss = method.training_step({"views": views}, 0)
        h = method.encoder.embed(views.flatten(0, 1))  # (8, D)
        z = method.projector(h).view(4, 2, -1)
        profile = method.profile.cqt(views.flatten(0, 1))[:, 0].mean(dim=-1)  # (8, 84)
        target = (profile - profile.mean(-1, keepdim=True)) / (profile.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
        mse = (method.profile.head(h) - target).pow(2).mean()
        expected = nt_xent(z[:, 0], z[:, 1], 0.1) + 0.5 * mse
    torch.testing.assert_close(loss, expected)


def test_off_by_default_and_the_encoder_learns_the_profile() -> None:
    assert not hasattr(SimCLR(ShortChunkCNN(n_mels=32, channels=[4, 8])), "profile")
    method = _tiny(1.0)
    t = torch.arange(8000) / SR
    tones = torch.stack([torch.sin(2 * math.pi * 110 * 2 ** (k / 4) * t) for k in range(8)])  # (8, S), distinct pitches
    views = 0.3 * tones[:, None].expand(-1, 2, -1)
    optimizer = torch.optim.Adam(method.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        h = method.embed_pairs({"views": views})
        loss = method.profile.loss(h.flatten(0, 1), views.flatten(0, 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
