"""The gradient cache (Gao et al. 2021): the loss and gradients of the whole batch, the saved activations of a
micro-batch, random draws replayed, BatchNorm statistics updated once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from ssl_mir.encoders import PatchTransformer, ShortChunkCNN
from ssl_mir.pretext import SimCLR
from ssl_mir.pretext.gradcache import cached_embed
from ssl_mir.pretext.losses import nt_xent

VIEWS = torch.randn(8, 2, 8000, generator=torch.Generator().manual_seed(0))  # (B, 2, S)


def _simclr(micro_batch: int | None) -> SimCLR:
    torch.manual_seed(0)
    encoder = PatchTransformer(n_mels=32, dim=16, heads=2, depth=2, patch_freq=8)  # LayerNorm: no batch statistics
    return SimCLR(encoder, projection_dim=8, temperature=0.1, micro_batch=micro_batch)


def _loss_and_grads(method: SimCLR) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    loss = method.training_step({"views": VIEWS}, 0)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None}


def test_simclr_through_the_cache_has_the_loss_and_gradients_of_the_whole_batch() -> None:
    whole_loss, whole = _loss_and_grads(_simclr(None))
    cached_loss, cached = _loss_and_grads(_simclr(4))  # 16 views, 4 at a time
    torch.testing.assert_close(cached_loss, whole_loss)
    assert whole.keys() == cached.keys() and any(k.startswith("encoder.") for k in whole)
    for name, grad in whole.items():
        torch.testing.assert_close(cached[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def _live_saved_peak(step: callable) -> int:
    """The most bytes autograd holds for backward at any moment of `step` (saved tensors, packed until unpacked)."""
    live: dict[int, int] = {}
    peak = [0]
    counter = iter(range(10**9))

    def pack(t: torch.Tensor) -> tuple[int, torch.Tensor]:
        key = next(counter)
        live[key] = t.numel() * t.element_size()
        peak[0] = max(peak[0], sum(live.values()))
        return key, t

    def unpack(packed: tuple[int, torch.Tensor]) -> torch.Tensor:
        live.pop(packed[0], None)
        return packed[1]

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        step()
    return peak[0]


def test_the_cache_holds_the_activations_of_one_micro_batch() -> None:
    waves = VIEWS.numel() * VIEWS.element_size()  # the input, which the cache keeps for its second pass
    whole = _live_saved_peak(lambda: _loss_and_grads(_simclr(None)))
    cached = _live_saved_peak(lambda: _loss_and_grads(_simclr(4)))
    assert cached - waves < 0.3 * (whole - waves)  # a quarter of the views' activations at a time


def test_random_draws_are_replayed_in_the_second_pass() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.5), nn.Linear(16, 4))
    x = torch.randn(12, 6)
    torch.manual_seed(1)
    z = torch.cat([net(part) for part in x.split(3)])  # the same masks, drawn in the same order, with graphs kept
    nt_xent(z[:6], z[6:], 0.5).backward()
    expected = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    torch.manual_seed(1)
    nt_xent(*cached_embed(net, net, x, 3).split(6), 0.5).backward()
    for got, want in zip((p.grad for p in net.parameters()), expected):
        torch.testing.assert_close(got, want)


def test_batchnorm_statistics_are_updated_once_per_micro_batch() -> None:
    torch.manual_seed(0)
    encoder = ShortChunkCNN(n_mels=16, channels=[4, 8])
    reference = ShortChunkCNN(n_mels=16, channels=[4, 8])
    reference.load_state_dict(encoder.state_dict())
    waves = VIEWS.flatten(0, 1)
    cached_embed(encoder.embed, encoder, waves, 4).sum().backward()
    with torch.no_grad():
        for part in waves.split(4):
            reference.embed(part)
    for (name, got), want in zip(encoder.named_buffers(), reference.buffers()):
        torch.testing.assert_close(got, want, msg=name)


def test_micro_batch_is_refused_where_there_are_no_in_batch_negatives() -> None:
    from ssl_mir.pretext import MAE

    with pytest.raises(ValueError, match="a gradient cache is for losses with in-batch negatives"):
        MAE(PatchTransformer(n_mels=32, dim=16, heads=2, depth=1, patch_freq=8), micro_batch=4)


@pytest.mark.slow
def test_a_cached_run_from_the_command_line(corpus: Path, tmp_path: Path) -> None:
    from tests.test_cli import CONFIGS, TINY_CNN, data_args, run

    run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", *data_args(corpus), "--data.crop_samples", "8000",
        *TINY_CNN, "--model.init_args.micro_batch", "2", "--trainer.max_steps", "2",
        "--trainer.default_root_dir", tmp_path)
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 2
