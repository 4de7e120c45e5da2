import math
from pathlib import Path

import torch
from timm.optim import Lars
from torch import nn

from ssl_mir.optim import WarmupCosine, parameter_groups
from tests.test_cli import CONFIGS, TINY_CNN, data_args, run


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv1d(1, 3, 3), nn.BatchNorm1d(3), nn.Flatten(), nn.Linear(6, 2), nn.LayerNorm(2))
    net[3].weight.requires_grad_(False)  # frozen parameters (EMA targets, random projections) are left out
    return net


def test_norm_and_bias_parameters_form_the_group_without_weight_decay() -> None:
    net = _net()
    weights, norms = parameter_groups(net)
    assert [id(p) for p in weights["params"]] == [id(net[0].weight)]
    expected = [net[0].bias, net[1].weight, net[1].bias, net[3].bias, net[4].weight, net[4].bias]
    assert [id(p) for p in norms["params"]] == [id(p) for p in expected]
    assert norms["weight_decay"] == 0.0 and "weight_decay" not in weights


def test_lars_adapts_the_weights_and_leaves_norm_and_bias_plain_sgd() -> None:
    """One LARS step by hand (You et al. 2017): w ← w - lr · η‖w‖ / (‖g‖ + λ‖w‖) · (g + λw) for the weights, and
    b ← b - lr · g for the group without weight decay."""
    net = _net()
    lr, wd, eta = 0.5, 1e-3, 0.001
    opt = Lars(parameter_groups(net), lr=lr, weight_decay=wd, trust_coeff=eta)
    net(torch.randn(4, 1, 4)).square().sum().backward()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    grads = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
    opt.step()
    w, g = before["0.weight"], grads["0.weight"]
    ratio = eta * w.norm() / (g.norm() + wd * w.norm() + 1e-8)
    torch.testing.assert_close(net[0].weight.detach(), w - lr * ratio * (g + wd * w))
    for name in ("0.bias", "1.weight", "4.bias"):
        torch.testing.assert_close(dict(net.named_parameters())[name].detach(), before[name] - lr * grads[name])
    assert ratio < 0.1  # the adaptation is far from the identity here, so the two checks are not the same


def test_warmup_cosine_factors() -> None:
    sched = WarmupCosine(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), warmup_steps=4, total_steps=12,
                         final_factor=0.1)
    assert [sched.factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert math.isclose(sched.factor(8), 0.1 + 0.9 * 0.5)
    assert sched.factor(12) == sched.factor(50) == 0.1


def test_the_lars_config_scales_the_learning_rate_by_the_global_batch(corpus: Path, tmp_path: Path) -> None:
    run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "simclr_cnn2d_lars.yaml", *data_args(corpus), "--data.crop_samples", "8000",
        *TINY_CNN, "--trainer.max_steps", "2", "--model.init_args.scheduler.init_args.total_steps", "2",
        "--model.init_args.scheduler.init_args.warmup_steps", "1", "--trainer.default_root_dir", tmp_path)
    groups = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["optimizer_states"][0]["param_groups"]
    assert [g["initial_lr"] for g in groups] == [0.3 * 4 / 256] * 2  # data_args: batch 4 on one process
    assert [g["weight_decay"] for g in groups] == [1e-6, 0.0]


def test_gradient_accumulation_is_refused_for_in_batch_negatives(corpus: Path, tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="SimCLR takes its negatives from the batch, and trainer.accumulate_grad_batches"
                                         " 2 would draw them from each micro-batch"):
        run("pretrain", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
            "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", *data_args(corpus), *TINY_CNN, "--trainer.max_steps", "1",
            "--trainer.accumulate_grad_batches", "2", "--trainer.default_root_dir", tmp_path)
    assert not (tmp_path / "checkpoints").exists()
