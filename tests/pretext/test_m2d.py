"""M2D: each branch sees only its own patches, the loss by hand, the EMA target along a real Trainer run."""

from __future__ import annotations

import pytorch_lightning as pl
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ssl_mir.encoders import PatchTransformer
from ssl_mir.pretext import M2D
from ssl_mir.pretext.ema import target_momentum
from ssl_mir.pretext.masking import patch_mask


def tiny_m2d(frequency: str = "mean", **kw: object) -> M2D:
    encoder = PatchTransformer(n_mels=32, patch_freq=16, patch_time=4, dim=32, depth=2, heads=2,
                               frequency=frequency)  # type: ignore[arg-type]
    return M2D(encoder, predictor_dim=32, predictor_heads=2, **kw)


@pytest.mark.parametrize("frequency", ["mean", "concat"])  # the branches work on tokens whatever the frames are
def test_online_sees_only_visible_and_target_only_masked_patches(frequency: str) -> None:
    torch.manual_seed(0)
    m2d = tiny_m2d(frequency).eval()
    with torch.no_grad():
        for p in m2d.target_encoder.parameters():  # a target unlike the online encoder
            p.add_(0.1 * torch.randn_like(p))
        patches, grid = m2d.encoder.patches(torch.randn(2, 16000))
        mask = patch_mask(2, grid, 0.7)
        masked_changed, visible_changed = patches.clone(), patches.clone()
        masked_changed[mask] = 100.0 * torch.randn(int(mask.sum()), patches.shape[-1])
        visible_changed[~mask] = 100.0 * torch.randn(int((~mask).sum()), patches.shape[-1])
        online, target = m2d.online(patches, grid, mask), m2d.target(patches, grid, mask)
        assert online.shape == target.shape == (2, int(mask[0].sum()), 32)
        torch.testing.assert_close(m2d.online(masked_changed, grid, mask), online, rtol=0, atol=0)
        torch.testing.assert_close(m2d.target(visible_changed, grid, mask), target, rtol=0, atol=0)
        assert not torch.allclose(m2d.online(visible_changed, grid, mask), online)
        assert not torch.allclose(m2d.target(masked_changed, grid, mask), target)


def test_loss_is_the_mse_of_normalised_features_of_the_masked_patches() -> None:
    torch.manual_seed(0)
    m2d = tiny_m2d()
    wave = torch.randn(3, 16000)
    torch.manual_seed(1)
    loss = m2d.training_step({"views": wave[:, None]}, 0)
    torch.manual_seed(1)  # the same mask
    patches, grid = m2d.encoder.patches(wave)
    mask = patch_mask(3, grid, 0.7)
    with torch.no_grad():
        p = F.normalize(m2d.online(patches, grid, mask), dim=-1)
        z = F.normalize(m2d.target(patches, grid, mask), dim=-1)
    assert loss.item() == pytest.approx(((p - z) ** 2).sum(-1).mean().item(), rel=1e-5)
    loss.backward()
    assert all(p.grad is None for p in m2d.target_encoder.parameters())
    assert m2d.encoder.patch_embed.weight.grad is not None and m2d.predictor.mask_token.grad is not None


def test_mask_ratio_must_leave_patches_to_both_branches() -> None:
    for ratio in (0.0, 1.0):
        with pytest.raises(ValueError, match="both branches need patches"):
            tiny_m2d(mask_ratio=ratio)


class Recorder(pl.Callback):
    """The online encoder's weights after every optimiser step (before the EMA update of that step)."""

    def __init__(self) -> None:
        self.online: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, *args: object) -> None:
        self.online.append({k: v.detach().clone() for k, v in module.encoder.named_parameters()})


def test_target_is_the_ema_of_the_online_encoder_in_a_trainer_run() -> None:
    torch.manual_seed(0)
    m2d = tiny_m2d(base_momentum=0.9)
    start = {k: v.detach().clone() for k, v in m2d.target_encoder.named_parameters()}
    data = DataLoader([{"views": torch.randn(1, 16000)} for _ in range(8)], batch_size=4)
    recorder = Recorder()
    steps = 4
    pl.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=False, callbacks=[recorder],
               enable_progress_bar=False, enable_model_summary=False).fit(m2d, data)
    expected = start
    for step, online in enumerate(recorder.online):
        tau = target_momentum(0.9, step + 1, steps)  # the module's hook runs after the step counter moved on
        expected = {k: tau * expected[k] + (1 - tau) * online[k] for k in expected}
    for k, v in m2d.target_encoder.named_parameters():
        torch.testing.assert_close(v, expected[k])
    assert not torch.equal(m2d.target_encoder.patch_embed.weight, start["patch_embed.weight"])


def test_loss_falls_on_one_batch() -> None:
    torch.manual_seed(0)
    m2d = tiny_m2d()
    wave = torch.randn(4, 16000)
    optimizer = torch.optim.Adam([p for p in m2d.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(30):
        torch.manual_seed(0)  # the same mask: the loss of one problem must fall
        loss = m2d.training_step({"views": wave[:, None]}, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
