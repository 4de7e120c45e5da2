"""Masks over a (F', T') patch grid, drawn per sample from the global torch RNG (seeded by the run's seed).

Grids are frequency-major: patch index = f · T' + t, as `PatchTransformer.patches` orders them.
"""

from __future__ import annotations

from typing import Literal

import torch

Masking = Literal["random", "time", "frequency"]


def patch_mask(batch: int, grid: tuple[int, int], ratio: float, kind: Masking = "random",
               device: torch.device | str = "cpu") -> torch.Tensor:
    """A mask with the same number of masked patches in every sample: (B, F'·T') bool, True = masked.

    "random" masks round(ratio · N) patches anywhere (He et al. 2022); "time" masks whole time columns and
    "frequency" whole frequency rows (structured masking of Audio-MAE, Huang et al. 2022), round(ratio · T') or
    round(ratio · F') of them.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    f, t = grid
    axis = {"random": f * t, "time": t, "frequency": f}[kind]
    n_masked = round(ratio * axis)
    ranks = torch.rand(batch, axis, device=device).argsort(dim=1).argsort(dim=1)  # a random permutation's ranks
    chosen = ranks < n_masked  # (B, axis)
    if kind == "time":
        return chosen[:, None, :].expand(batch, f, t).reshape(batch, f * t)
    if kind == "frequency":
        return chosen[:, :, None].expand(batch, f, t).reshape(batch, f * t)
    return chosen


def span_mask(batch: int, grid: tuple[int, int], prob: float, length: int,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """Spans in time, as in wav2vec 2.0 and BEST-RQ (Chiu et al. 2022): each time step starts a span of `length`
    steps with probability `prob` (spans may overlap); every frequency patch of a masked step is masked; at least one
    step is masked per sample. (B, F'·T') bool."""
    f, t = grid
    starts = torch.rand(batch, t, device=device) < prob  # (B, T')
    empty = ~starts.any(dim=1)
    starts[empty, torch.randint(t, (int(empty.sum()),), device=device)] = True
    kernel = torch.ones(1, 1, length, device=device)
    covered = torch.nn.functional.conv1d(starts[:, None].float(), kernel, padding=length - 1)[:, 0, :t] > 0
    return covered[:, None, :].expand(batch, f, t).reshape(batch, f * t)


def keep_indices(mask: torch.Tensor) -> torch.Tensor:
    """Indices of the visible patches of a mask with equal counts per sample, in grid order: (B, N_visible)."""
    counts = (~mask).sum(dim=1)
    if not bool((counts == counts[0]).all()):
        raise ValueError("every sample needs the same number of visible patches")
    return (~mask).nonzero()[:, 1].view(mask.shape[0], -1)


def random_subset(indices: torch.Tensor, share: float) -> torch.Tensor:
    """round(share · m) of each row's m indices, at least one, drawn at random per row: (B, m) → (B, m')."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    b, m = indices.shape
    if share == 1.0 or m == 0:
        return indices
    chosen = torch.rand(b, m, device=indices.device).argsort(dim=1)[:, :max(1, round(share * m))]
    return indices.gather(1, chosen)
