"""PESTO's three losses (Riou et al., ISMIR 2023, section 3.2), on distributions over pitch bins y (N, K): a view with
pitch-preserving changes must give the same distribution, and a view transposed by k bins the same one moved by k.

The two cross-entropies are computed as PESTO's reference code computes them: torch's cross-entropy applied to the
distribution y itself, −Σ_i q_i log softmax(y)_i = log Σ_j e^(y_j) − ⟨q, y⟩ against a fixed target q. Unlike the
cross-entropy of the logits, whose minimum is y = q whatever their spread, this one also grows as ⟨q, y⟩ shrinks,
so two views are pulled to agree on one peak: PESTO's confidence comes from here (benchmarks/QUALITY.md, "PESTO").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shift_bins(p: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Each row moved `shift` bins up, zeros coming in: out[n, i] = p[n, i − shift[n]]. (N, K), (N,) → (N, K)."""
    source = torch.arange(p.shape[1], device=p.device) - shift.view(-1, 1)  # (N, K)
    inside = (source >= 0) & (source < p.shape[1])
    return p.gather(1, source.clamp(0, p.shape[1] - 1)) * inside


def invariance_loss(y_a: torch.Tensor, y_b: torch.Tensor) -> torch.Tensor:
    """L_inv: each view's distribution against the other's, as a fixed target, both ways, averaged."""
    return (F.cross_entropy(y_a, y_b.detach()) + F.cross_entropy(y_b, y_a.detach())) / 2


def shifted_cross_entropy(y: torch.Tensor, y_t: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """L_SCE: the transposed view (its content `shift` bins higher) against the other's distribution moved up by
    `shift`, and the other against the transposed one's moved back, as fixed targets."""
    return (F.cross_entropy(y_t, shift_bins(y, shift).detach())
            + F.cross_entropy(y, shift_bins(y_t, -shift).detach())) / 2


def equivariance_loss(y: torch.Tensor, y_t: torch.Tensor, shift: torch.Tensor, bins_per_semitone: int = 3,
                      tau: float = 2 ** (1 / 6) - 1) -> torch.Tensor:
    """L_equiv: project each distribution to φ(y) = Σ_i α^(i − K + 1) y_i, α = 2^(1 / (12 · bins_per_semitone)) (a
    frequency ratio per bin); a shift of k bins multiplies φ by α^k, so the Huber loss (threshold `tau`) of
    φ(y_t) / φ(y) − α^k and of φ(y) / φ(y_t) − α^(−k), averaged. Unlike the cross-entropies it has a gradient through
    both views."""
    k = y.shape[1]
    alpha = 2.0 ** (1.0 / (12 * bins_per_semitone))
    weights = alpha ** torch.arange(1 - k, 1, device=y.device, dtype=torch.float32)  # (K,): α^(1-K) .. α^0
    phi, phi_t = y.float() @ weights, y_t.float() @ weights  # (N,)
    ratio = alpha ** shift.float()
    return (F.huber_loss(phi_t / phi, ratio, delta=tau) + F.huber_loss(phi / phi_t, 1 / ratio, delta=tau)) / 2
