"""Masks over a (F', T') patch grid, drawn per sample from the global torch RNG (seeded by the run's seed).

Grids are frequency-major: patch index = f · T' + t, as `PatchTransformer.patches` orders them.
"""

from __future__ import annotations

from typing import Literal

import torch

Masking = Literal["random", "time", "frequency"]


def _axis(grid: tuple[int, int], kind: Masking) -> int:
    """How many rows of the grid `patch_mask` draws from: patches, time columns or frequency rows."""
    f, t = grid
    return {"random": f * t, "time": t, "frequency": f}[kind]


def patch_mask(batch: int, grid: tuple[int, int], ratio: float, kind: Masking = "random",
               device: torch.device | str = "cpu") -> torch.Tensor:
    """A mask with the same number of masked patches in every sample: (B, F'·T') bool, True = masked.

    "random" masks round(ratio · N) patches anywhere (He et al. 2022); "time" masks whole time columns and
    "frequency" whole frequency rows (structured masking of Audio-MAE, Huang et al. 2022), round(ratio · T') or
    round(ratio · F') of them.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1), got {ratio}")
    axis = _axis(grid, kind)
    n_masked = round(ratio * axis)
    f, t = grid
    ranks = torch.rand(batch, axis, device=device).argsort(dim=1).argsort(dim=1)  # a random permutation's ranks
    chosen = ranks < n_masked  # (B, axis)
    if kind == "time":
        return chosen[:, None, :].expand(batch, f, t).reshape(batch, f * t)
    if kind == "frequency":
        return chosen[:, :, None].expand(batch, f, t).reshape(batch, f * t)
    return chosen


def masked_count(grid: tuple[int, int], ratio: float, kind: Masking = "random") -> int:
    """How many patches of each sample `patch_mask(…, grid, ratio, kind)` masks, known without looking at a mask."""
    axis = _axis(grid, kind)
    return round(ratio * axis) * (grid[0] * grid[1] // axis)


def span_mask(batch: int, grid: tuple[int, int], prob: float, length: int,
              device: torch.device | str = "cpu") -> torch.Tensor:
    """Spans in time, as in wav2vec 2.0 and BEST-RQ (Chiu et al. 2022): each time step starts a span of `length`
    steps with probability `prob` (spans may overlap); every frequency patch of a masked step is masked; at least one
    step is masked per sample. (B, F'·T') bool."""
    f, t = grid
    starts = torch.rand(batch, t, device=device) < prob  # (B, T')
    fallback = torch.arange(t, device=device) == torch.randint(t, (batch, 1), device=device)  # (B, T'): one step
    starts |= fallback & ~starts.any(dim=1, keepdim=True)  # a sample with no span gets one, nothing read back
    kernel = torch.ones(1, 1, length, device=device)
    covered = torch.nn.functional.conv1d(starts[:, None].float(), kernel, padding=length - 1)[:, 0, :t] > 0
    return covered[:, None, :].expand(batch, f, t).reshape(batch, f * t)


def split_indices(mask: torch.Tensor, n_masked: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the visible and of the masked patches of a mask with `n_masked` masked patches in every sample,
    each in grid order: (B, N) → (B, N - n_masked), (B, n_masked).

    A stable sort puts the visible patches first. Nothing is read back from the device, as selecting by the mask
    would (its size depends on the values: on a GPU the host waits); a sample with another count fails the run by an
    assertion the device checks when it gets there."""
    torch._assert_async((mask.sum(dim=1) == n_masked).all(), "every sample needs the same number of masked patches")
    order = mask.to(torch.uint8).argsort(dim=1, stable=True)  # (B, N): visible, then masked, each ascending
    n_visible = mask.shape[1] - n_masked
    return order[:, :n_visible], order[:, n_visible:]


def random_subset(indices: torch.Tensor, share: float) -> torch.Tensor:
    """round(share · m) of each row's m indices, at least one, drawn at random per row: (B, m) → (B, m')."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    b, m = indices.shape
    if share == 1.0 or m == 0:
        return indices
    chosen = torch.rand(b, m, device=indices.device).argsort(dim=1)[:, :max(1, round(share * m))]
    return indices.gather(1, chosen)
