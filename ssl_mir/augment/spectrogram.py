"""Batched augmentations of log-scaled spectrograms (B, 1, F, T) on the training device, per-sample random parameters
from the global torch RNG (seeded by the run): SpecAugment's masks (Park et al., Interspeech 2019) and BYOL-A's pair
(Niizumi et al., IJCNN 2021; TASLP 2023)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssl_mir.configurable import Configurable


def draw_masks(batch: int, size: int, count: int, max_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` bands per row along an axis of `size`: widths uniform in {0, …, ⌊max_fraction · size⌋}, starts uniform
    in {0, …, size - width}. Returns (starts, widths), each (B, count), drawn on the CPU."""
    widths = torch.randint(int(max_fraction * size) + 1, (batch, count))
    starts = (torch.rand(batch, count) * (size - widths + 1)).floor().long()
    return starts, widths


def band_mask(starts: torch.Tensor, widths: torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """(B, count) bands → (B, size) True inside any band."""
    index = torch.arange(size, device=device).view(1, 1, size)
    starts, widths = starts.to(device).unsqueeze(-1), widths.to(device).unsqueeze(-1)
    return ((index >= starts) & (index < starts + widths)).any(dim=1)


class SpecAugment(Configurable, nn.Module):
    """SpecAugment's frequency and time masks (Park et al., "SpecAugment: A Simple Data Augmentation Method for
    Automatic Speech Recognition", Interspeech 2019), without time warping: each row gets its own `freq_masks`
    bands of frequency bins and `time_masks` bands of frames set to `value` (0, the mean of a standardised front
    end). Widths are fractions of the axis, so one setting fits any front end. (B, 1, F, T) → (B, 1, F, T).

    Args:
        freq_masks: frequency bands per row (Park et al.'s LibriSpeech policies: 1 or 2).
        max_freq_fraction: the widest band, as a fraction of the bins (Park et al.: 27 of 80 bins, 0.34).
        time_masks: time bands per row.
        max_time_fraction: the widest band, as a fraction of the frames (Park et al.'s upper bound p: 1.0 or 0.2).
        value: what masked cells become.
    """

    def __init__(self, freq_masks: int = 2, max_freq_fraction: float = 0.15, time_masks: int = 2,
                 max_time_fraction: float = 0.1, value: float = 0.0) -> None:
        super().__init__()
        for name, fraction in (("max_freq_fraction", max_freq_fraction), ("max_time_fraction", max_time_fraction)):
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(f"SpecAugment {name} must be in [0, 1], got {fraction}")
        self.freq_masks, self.max_freq_fraction = freq_masks, max_freq_fraction
        self.time_masks, self.max_time_fraction = time_masks, max_time_fraction
        self.value = value

    def masks(self, spec: torch.Tensor) -> torch.Tensor:
        """Draw the cells to mask: (B, 1, F, T) → boolean (B, 1, F, T)."""
        b, _, f, t = spec.shape
        freq = band_mask(*draw_masks(b, f, self.freq_masks, self.max_freq_fraction), f, spec.device)  # (B, F)
        time = band_mask(*draw_masks(b, t, self.time_masks, self.max_time_fraction), t, spec.device)  # (B, T)
        return (freq.unsqueeze(-1) | time.unsqueeze(1)).unsqueeze(1)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """Masked while training only, like dropout: as a submodule it follows its encoder's train() and eval()."""
        return spec.masked_fill(self.masks(spec), self.value) if self.training else spec


class LogMixupExp(nn.Module):
    """Mix each spectrogram with a random earlier one in linear scale: log((1 - λ) e^x + λ e^m), λ ~ U(0, ratio),
    m drawn from a FIFO memory of past inputs (BYOL-A's mixup for background sound). The first batch mixes with
    itself, shuffled.

    Args:
        ratio: the largest mixing weight λ.
        memory_size: past spectrograms kept (BYOL-A: 2048).
    """

    def __init__(self, ratio: float = 0.4, memory_size: int = 2048) -> None:
        super().__init__()
        self.ratio, self.memory_size = ratio, memory_size
        self.memory: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = x if self.memory is None or self.memory.shape[1:] != x.shape[1:] else self.memory
        others = pool[torch.randint(len(pool), (len(x),), device=x.device)]
        lam = self.ratio * torch.rand(len(x), 1, 1, 1, device=x.device)
        mixed = torch.logaddexp(torch.log1p(-lam) + x, torch.log(lam.clamp_min(1e-12)) + others)
        kept = x.detach() if self.memory is None or pool is x else torch.cat([x.detach(), self.memory])
        self.memory = kept[: self.memory_size]
        return mixed

    def get_extra_state(self) -> torch.Tensor:
        """The memory goes into checkpoints (empty before the first batch): a resumed run mixes what it would have."""
        return torch.empty(0) if self.memory is None else self.memory

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.memory = state if state.numel() else None


class RandomResizeCrop(nn.Module):
    """BYOL-A's random resize crop: the spectrogram sits in a virtual canvas `virtual_scale` times its size, a crop of
    drawn frequency and time scales is taken around the centre of the canvas at a random offset, and resized
    (bilinear) back to the input size. (B, 1, F, T) → (B, 1, F, T).

    Args:
        virtual_scale: canvas size over the input size (frequency, time).
        freq_scale: range of the crop height over the input height.
        time_scale: range of the crop width over the input width.
    """

    def __init__(self, virtual_scale: tuple[float, float] = (1.0, 1.5), freq_scale: tuple[float, float] = (0.6, 1.5),
                 time_scale: tuple[float, float] = (0.6, 1.5)) -> None:
        super().__init__()
        self.virtual_scale, self.freq_scale, self.time_scale = virtual_scale, freq_scale, time_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = len(x)

        def draw(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(b, device=x.device)

        # Affine grids in the input's normalised coordinates [-1, 1]: the canvas spans ±virtual_scale, a crop of
        # scale s spans ±s, its centre moves within the canvas so that the crop stays inside it.
        scale_f = torch.minimum(draw(*self.freq_scale), torch.full((b,), self.virtual_scale[0], device=x.device))
        scale_t = torch.minimum(draw(*self.time_scale), torch.full((b,), self.virtual_scale[1], device=x.device))
        shift_f = (self.virtual_scale[0] - scale_f) * (2 * torch.rand(b, device=x.device) - 1)
        shift_t = (self.virtual_scale[1] - scale_t) * (2 * torch.rand(b, device=x.device) - 1)
        theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0], theta[:, 0, 2] = scale_t, shift_t  # x axis of the grid is time
        theta[:, 1, 1], theta[:, 1, 2] = scale_f, shift_f
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
