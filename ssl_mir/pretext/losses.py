"""Pretext losses as pure functions of tensors."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def gather_with_grad(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Concatenate `x` from every rank, keeping gradients to each rank's own slice.

    Returns the gathered tensor (R·B, ...) and this rank's index; outside DDP, `x` itself and rank 0.
    `torch.distributed.nn.all_gather` sums the gradients of every rank's loss back onto the slice's owner, so with
    DDP's gradient averaging the result equals one process on the concatenated batch.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x, 0
    import torch.distributed.nn  # noqa: F401 (registers the autograd-aware collectives)

    return torch.cat(torch.distributed.nn.all_gather(x), dim=0), dist.get_rank()


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Normalised temperature-scaled cross-entropy (Chen et al., "A Simple Framework for Contrastive Learning of
    Visual Representations", ICML 2020, eq. 1), with negatives gathered from every rank.

    Each of the 2B local anchors has its other view as the positive and the other 2N - 2 gathered embeddings
    (N = B · world size) as negatives. The loss is the mean over local anchors.

    Args:
        z1: (B, d) projections of the first views.
        z2: (B, d) projections of the second views.
        temperature: τ in exp(sim / τ).
    """
    z1 = F.normalize(z1.float(), dim=-1)
    z2 = F.normalize(z2.float(), dim=-1)
    b = z1.shape[0]
    all1, rank = gather_with_grad(z1)  # (N, d)
    all2, _ = gather_with_grad(z2)  # (N, d)
    n = all1.shape[0]
    anchors = torch.cat([z1, z2])  # (2B, d)
    candidates = torch.cat([all1, all2])  # (2N, d)
    logits = anchors @ candidates.T / temperature  # (2B, 2N)
    local = torch.arange(b, device=z1.device) + rank * b
    own = torch.cat([local, local + n])  # each anchor's own column
    positive = torch.cat([local + n, local])  # its other view's column
    rows = torch.arange(2 * b, device=z1.device)
    self_mask = torch.zeros_like(logits, dtype=torch.bool)
    self_mask[rows, own] = True
    return F.cross_entropy(logits.masked_fill(self_mask, float("-inf")), positive)


def patch_mse(pred: torch.Tensor, patches: torch.Tensor, normalise: bool = True, eps: float = 1e-6) -> torch.Tensor:
    """MAE's reconstruction loss (He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022): the
    mean squared error between predicted and input patches, (..., P) each, against per-patch normalised targets when
    `normalise` (each target patch standardised by its own mean and variance, plus `eps`)."""
    return _squared_error(pred, patches, normalise, eps).mean()  # over (patches, P)


def _squared_error(pred: torch.Tensor, patches: torch.Tensor, normalise: bool, eps: float) -> torch.Tensor:
    target = patches.float()
    if normalise:
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True, unbiased=True) + eps) ** 0.5
    return (pred.float() - target) ** 2  # (..., P)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of `values` (B, N) where `mask` (B, N) is True. Computed over every position and weighted, not by
    selecting the masked ones, whose number a GPU would have to send back to the host before going on."""
    return torch.where(mask, values, 0.0).sum() / mask.sum()


def masked_mse(pred: torch.Tensor, patches: torch.Tensor, mask: torch.Tensor, normalise: bool = True,
               eps: float = 1e-6) -> torch.Tensor:
    """`patch_mse` over the masked patches only: pred and patches (B, N, P), mask (B, N) True where masked."""
    return masked_mean(_squared_error(pred, patches, normalise, eps).mean(-1), mask)


def masked_ce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at masked positions only (BEST-RQ, Chiu et al. 2022; HuBERT, Hsu et al. 2021).

    Args:
        logits: (B, N, V).
        targets: (B, N) class indices.
        mask: (B, N) True where masked.
    """
    ce = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="none")  # (B·N,)
    return masked_mean(ce.view(mask.shape), mask)


def bilinear_contrastive(anchors: torch.Tensor, positives: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """COLA's loss (Saeed et al., "Contrastive Learning of General-Purpose Audio Representations", ICASSP 2021):
    bilinear similarity s(a, p) = aᵀ W p between every anchor and every positive of the (gathered) batch, and
    cross-entropy with each anchor's own positive as the target; the other positives are its negatives.

    Args:
        anchors: (B, d) embeddings of one segment per clip.
        positives: (B, d) embeddings of another segment of the same clips.
        weight: (d, d) the bilinear form W.
    """
    candidates, rank = gather_with_grad(positives)  # (N, d)
    logits = anchors.float() @ weight.float() @ candidates.float().T  # (B, N)
    return F.cross_entropy(logits, torch.arange(len(anchors), device=anchors.device) + rank * len(anchors))


def byol_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BYOL's regression loss (Grill et al., NeurIPS 2020, eq. 2): 2 - 2 · cos(prediction, target), averaged over the
    batch; no gradient flows into the target. (B, d), (B, d) → scalar."""
    cosine = F.cosine_similarity(prediction.float(), target.detach().float(), dim=-1)
    return (2 - 2 * cosine).mean()


def key_phasor(y: torch.Tensor, omega: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """STONE's projection of a distribution over 12 pitch classes onto the unit disk (Kong et al., ISMIR 2024, eq. 2):
    z = Σ_q y[q] · e^{2πiωq/12}, the ω-th DFT coefficient; ω = 7 walks the circle of fifths, ω = 1 the semitones.
    (N, 12) → the real and imaginary parts, (N,) each (real arithmetic: no complex dtype in the graph)."""
    angle = 2 * torch.pi * omega / 12 * torch.arange(12, device=y.device, dtype=torch.float32)
    y = y.float()
    return y @ torch.cos(angle), y @ torch.sin(angle)


def stone_key_loss(y_a: torch.Tensor, y_b: torch.Tensor, y_t: torch.Tensor, shift: torch.Tensor,
                   omega: int = 7) -> torch.Tensor:
    """STONE's cross-power spectral density loss (Kong et al., ISMIR 2024, eqs. 3-5):
    |1 − z_A z̄_B|² + |e^{2πiωk/12} − z_A z̄_T|² + |e^{2πiωk/12} − z_B z̄_T|², averaged over the batch.

    A and B are two segments of a clip seen at the same transposition; T is A seen `shift` = k semitones lower (its
    pitch class q is A's q + k), so a model that is equivariant and confident has z_T = e^{−2πiωk/12} z_A. |z| ≤ 1
    with equality only for a distribution on one class (or on classes a multiple of 12 / gcd(ω, 12) apart), so the
    loss also asks for confidence.

    Args:
        y_a: (N, 12) distribution of segment A.
        y_b: (N, 12) of segment B.
        y_t: (N, 12) of A transposed.
        shift: (N,) integer k of each row.
        omega: the DFT coefficient.
    """
    a, b, t = key_phasor(y_a, omega), key_phasor(y_b, omega), key_phasor(y_t, omega)
    angle = 2 * torch.pi * omega / 12 * shift.float()
    target = torch.cos(angle), torch.sin(angle)

    def distance(target: tuple[torch.Tensor, torch.Tensor], u: tuple[torch.Tensor, torch.Tensor],
                 v: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        real = u[0] * v[0] + u[1] * v[1]  # u · conj(v)
        imag = u[1] * v[0] - u[0] * v[1]
        return (target[0] - real) ** 2 + (target[1] - imag) ** 2  # (N,)

    one = torch.ones_like(a[0]), torch.zeros_like(a[0])
    return (distance(one, a, b) + distance(target, a, t) + distance(target, b, t)).mean()


def mode_agreement(*modes: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The mode term of STONE's 24-key variant: each pair of views of a clip, whatever their transposition, must give
    the same probability m (N,) of the first mode; binary cross-entropy of each view's m against each other's,
    averaged over the ordered pairs and the batch."""
    terms = [F.binary_cross_entropy(q.float().clamp(eps, 1 - eps), p.float(), reduction="none")
             for i, p in enumerate(modes) for j, q in enumerate(modes) if i != j]
    return torch.stack(terms).mean()
