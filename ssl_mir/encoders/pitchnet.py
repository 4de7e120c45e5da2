"""PitchNet: PESTO's small frame-wise network, a CQT frame in and a distribution over pitch bins out, equivariant to
shifts of its input by construction.

Riou, Lattner, Hadjeres & Peeters, "PESTO: Pitch Estimation with Self-supervised Transposition-equivariant
Objective" (ISMIR 2023). As theirs: a CQT at 3 bins per semitone from A0, each frame on its own, convolutions along
frequency (a wide prefilter, residual repeats, then 1 × 1 convolutions through fewer channels) and a Toeplitz last
layer to the output bins. Ours differs where theirs is only close to equivariant: the CQT is measured from its floor
(silence is 0), the frame is scaled by its RMS instead of LayerNorm's centring, and no layer has a bias, so a silent
background stays exactly 0 through every layer and a shift of a note by k bins shifts every map and the logits by
exactly k (the tests check it bin by bin).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ssl_mir.encoders.base import Encoder
from ssl_mir.frontends import CQT, full_precision


class ToeplitzLinear(nn.Module):
    """A linear map from (F, C) to `out_features` whose weight depends only on the distance between an input bin and
    an output bin, so shifting the input k bins shifts the output k bins (PESTO's last layer): the matrix
    W[i, c, j] = kernel[c, i − j + out_features − 1] is gathered from one kernel as long as both axes together,
    then applied as one matrix product (as a convolution this long, PESTO's form, it ran 66× slower on a CPU:
    benchmarks/toeplitz.py). (N, F, C) → (N, out_features)."""

    def __init__(self, in_channels: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(in_channels, in_features + out_features - 1))
        bound = 1 / math.sqrt(in_channels * in_features)  # nn.Linear's initialisation for the same fan-in
        nn.init.uniform_(self.kernel, -bound, bound)
        offsets = torch.arange(in_features).view(-1, 1) - torch.arange(out_features).view(1, -1) + out_features - 1
        self.register_buffer("offsets", offsets, persistent=False)  # (F, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.kernel[:, self.offsets].permute(1, 0, 2)  # (F, C, out)
        return x.flatten(1) @ weight.flatten(0, 1)  # (N, out)


def rms_normalise(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Scale each frame (N, ..., F) by its root mean square: a statistic a shift does not change, and zero stays
    zero."""
    return x / x.pow(2).mean(dim=tuple(range(1, x.dim())), keepdim=True).add(eps).sqrt()


class PitchNet(Encoder):
    """CQT (`bins_per_semitone` · 12 bins per octave from `fmin`) → per frame, the `n_bins` bins from `max_shift` →
    RMS scaling → prefilter conv (1 → channels[0], `kernel` bins) → `prefilter_layers` − 1 residual convs → 1 × 1 convs
    through `channels` → Toeplitz layer to `out_bins` logits → softmax.

    The 2 · `max_shift` spare bins are what pre-training (`pretext.PESTO`) crops at other offsets to transpose a frame
    by a known number of bins; inference reads from `max_shift`.

    Hidden states, (B, T, ·) per frame: the last convolution's maps flattened bin-major (n_bins · C_last), then the
    distribution over the output bins (B, T, out_bins): its peak moves by one bin per 1/`bins_per_semitone` semitone.

    Args:
        sample_rate: input rate.
        hop_length: CQT hop.
        fmin: lowest CQT bin (A0, as PESTO).
        n_octaves: CQT octaves, spare bins included.
        bins_per_semitone: CQT resolution.
        max_shift: the largest transposition pre-training draws, in bins.
        channels: channels of the prefilter, then of each 1 × 1 convolution.
        kernel: frequency extent of the prefilter convolutions, odd.
        prefilter_layers: prefilter convolutions (the first, then residual repeats).
        out_bins: output bins (PESTO: 128 semitones × 3).
        negative_slope: of the LeakyReLUs.
        dropout: after every activation, in training.
        eps: the CQT's floor: log(power + eps) is measured from log(eps).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        hop_length: int = 256,
        fmin: float = 27.5,
        n_octaves: int = 8,
        bins_per_semitone: int = 3,
        max_shift: int = 16,
        channels: list[int] = [40, 30, 30, 10, 3],  # noqa: B006 (config default)
        kernel: int = 15,
        prefilter_layers: int = 2,
        out_bins: int = 384,
        negative_slope: float = 0.3,
        dropout: float = 0.2,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel {kernel} must be odd, so that frequency shifts stay aligned")
        total = 12 * bins_per_semitone * n_octaves
        if not 0 <= 2 * max_shift < total:
            raise ValueError(f"max_shift {max_shift} must leave bins of the CQT's {total} after cropping both sides")
        self.sample_rate, self.max_shift, self.n_bins = sample_rate, max_shift, total - 2 * max_shift
        self.bins_per_semitone, self.embed_dim = bins_per_semitone, out_bins
        self.frame_rate = sample_rate / hop_length
        # log(power + eps) from its floor, per unit of log(1 / eps): silence is exactly 0, a full-scale tone about 1
        self.frontend = CQT(sample_rate, hop_length, fmin, n_octaves, 12 * bins_per_semitone, eps=eps,
                            mean=math.log(eps), std=-math.log(eps))

        def act() -> nn.Module:
            return nn.Sequential(nn.LeakyReLU(negative_slope), nn.Dropout(dropout))

        self.prefilter = nn.ModuleList(
            nn.Sequential(nn.Conv1d(c_in, channels[0], kernel, padding=kernel // 2, bias=False), act())
            for c_in in [1] + [channels[0]] * (prefilter_layers - 1))
        self.pointwise = nn.Sequential(*(  # 1 × 1 convolutions, as matrix products over channels-last maps
            nn.Sequential(nn.Linear(c_in, c_out, bias=False), act())
            for c_in, c_out in zip(channels[:-1], channels[1:])))
        self.head = ToeplitzLinear(channels[-1], self.n_bins, out_bins)

    def frame_states(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """CQT frames already cropped, (N, 1, n_bins) → the last convolution's maps (N, n_bins, C_last) and the logits
        (N, out_bins). Float32 even under autocast (a network this narrow gains nothing from bf16 on a CPU)."""
        with full_precision(frames):
            x = self.prefilter[0](rms_normalise(frames.float()))  # (N, C_0, n_bins)
            for layer in self.prefilter[1:]:
                x = x + layer(x)
            maps = self.pointwise(x.transpose(1, 2))  # (N, n_bins, C_last)
            return maps, self.head(maps)

    def frames_of(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, S) → every CQT frame, uncropped: (B, T, 1, n_bins + 2 · max_shift)."""
        return self.frontend(wave)[:, 0].transpose(1, 2).unsqueeze(2)

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        frames = self.frames_of(wave)  # (B, T, 1, F)
        b, t = frames.shape[:2]
        maps, logits = self.frame_states(frames.flatten(0, 1)[..., self.max_shift:self.max_shift + self.n_bins])
        return [maps.reshape(b, t, -1), torch.softmax(logits, dim=-1).view(b, t, -1)]
