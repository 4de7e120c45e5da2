import math

import torch

from ssl_mir.pretext.losses import bilinear_contrastive, nt_xent


def _hand_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> float:
    """Chen et al. 2020, eq. 1 averaged over all 2B anchors, one anchor at a time."""
    z = [v / v.norm() for v in torch.cat([z1, z2])]
    b = len(z1)
    total = 0.0
    for i in range(2 * b):
        j = (i + b) % (2 * b)
        sims = [math.exp(float(z[i] @ z[k]) / t) for k in range(2 * b) if k != i]
        total += -math.log(math.exp(float(z[i] @ z[j]) / t) / sum(sims))
    return total / (2 * b)


def test_nt_xent_equals_hand_computation() -> None:
    torch.manual_seed(0)
    z1, z2 = torch.randn(5, 3), torch.randn(5, 3)
    for t in (0.1, 0.5, 1.0):
        assert float(nt_xent(z1, z2, t)) == torch.tensor(_hand_nt_xent(z1, z2, t)).float().item() or math.isclose(
            float(nt_xent(z1, z2, t)), _hand_nt_xent(z1, z2, t), rel_tol=1e-5)


def test_nt_xent_is_low_for_matching_views_and_high_for_swapped() -> None:
    torch.manual_seed(0)
    z = torch.randn(8, 16)
    aligned = nt_xent(z, z + 0.01 * torch.randn_like(z), 0.1)
    shuffled = nt_xent(z, z[torch.randperm(8)], 0.1)
    assert aligned < 0.1 < shuffled


def test_bilinear_contrastive_equals_hand_computation() -> None:
    """COLA: for anchor i, -log(exp(a_i W p_i) / sum_j exp(a_i W p_j)), averaged."""
    torch.manual_seed(0)
    a, p, w = torch.randn(4, 3), torch.randn(4, 3), torch.randn(3, 3)
    total = 0.0
    for i in range(4):
        scores = [float(a[i] @ w @ p[j]) for j in range(4)]
        total += -scores[i] + math.log(sum(math.exp(s) for s in scores))
    assert math.isclose(float(bilinear_contrastive(a, p, w)), total / 4, rel_tol=1e-5)
    assert float(bilinear_contrastive(a, 10 * a, torch.eye(3))) < float(bilinear_contrastive(a, 10 * a.roll(1, 0),
                                                                                             torch.eye(3)))
