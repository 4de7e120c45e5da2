"""ChromaNet: a pitch-equivariant CNN over the CQT whose octaves fold into 12 pitch classes.

Kong, Meseguer-Brocal, Lostanlen, Lagrange & Hennequin, "STONE: Self-supervised Tonality Estimator" (ISMIR 2024),
and its 24-key variant (S-KEY, ICASSP 2025). Every convolution keeps every CQT bin (time alone is downsampled) and
repeats the edge bins as padding (a constant background has no edge), so shifting the input by k bins shifts every
feature map by k bins away from the edges; averaging the octaves of a map then rolls its 12 pitch classes by k. A
1×1 classifier turns each pitch class of the last map into 2 logits (two modes) per frame.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ssl_mir.encoders.base import Encoder
from ssl_mir.frontends import CQT, full_precision


def crop_bins(spec: torch.Tensor, offsets: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Each row's `n_bins` frequency bins from its own offset: (N, C, F, ...), offsets (N,) → (N, C, n_bins, ...).
    A crop `k` bins higher reads the same music `k` bins lower (semitones at 12 bins per octave)."""
    n, c, _, *rest = spec.shape
    ones = [1] * len(rest)
    index = offsets.view(n, 1, 1, *ones) + torch.arange(n_bins, device=spec.device).view(1, 1, n_bins, *ones)
    return spec.gather(2, index.expand(n, c, n_bins, *rest))


def octave_average(maps: torch.Tensor) -> torch.Tensor:
    """(N, C, F, T), F a multiple of 12 → (N, C, 12, T): bin f of every octave averaged into pitch class f mod 12."""
    n, c, f, t = maps.shape
    return maps.view(n, c, f // 12, 12, t).mean(dim=2)


class ChromaNet(Encoder):
    """CQT (12 bins per octave, `n_octaves` + 1 octaves) → a crop of `n_octaves` octaves from `offset` → BN → blocks
    of [conv (kf × kt) → BN → ReLU → average-pool time by `time_pools[l]`] → octave average → 1×1 conv to 2 × 12 key
    logits per frame.

    The spare octave is what pre-training (`pretext.STONE`) crops at other offsets to transpose a view by a known
    number of semitones; inference reads from `offset`.

    Hidden states: each block's maps with their octaves averaged, (B, T_l, C_l · 12), channel-major (feature c's pitch
    class q at c · 12 + q): pitch-class profiles of learnt features, rolled by k classes when the input moves k
    semitones; last, the key logits per frame (B, T, 24), mode-major. `key_logits` averages them over time and
    normalises each mode by batch statistics (STONE's affine-free BatchNorm, which keeps one mode from taking all).

    Args:
        sample_rate: input rate.
        hop_length: CQT hop.
        fmin: lowest CQT bin (A0, as STONE).
        n_octaves: octaves the network sees.
        offset: the crop's lowest bin at inference, in 0..12.
        channels: output channels of each block.
        kernel: (frequency, time) kernel of every convolution, odd.
        time_pools: time downsampling after each block (1: none).
        cqt_mean: CQT normalisation mean (a buffer).
        cqt_std: CQT normalisation std (a buffer).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        hop_length: int = 512,
        fmin: float = 27.5,
        n_octaves: int = 7,
        offset: int = 0,
        channels: list[int] = [16, 32, 32, 32, 16],  # noqa: B006 (config default)
        kernel: tuple[int, int] = (7, 5),
        time_pools: list[int] = [2, 2, 1, 1, 1],  # noqa: B006 (config default)
        cqt_mean: float = 0.0,
        cqt_std: float = 1.0,
    ) -> None:
        super().__init__()
        if len(time_pools) != len(channels):
            raise ValueError(f"time_pools {time_pools} needs one entry per block of channels {channels}")
        if not 0 <= offset <= 12:
            raise ValueError(f"offset {offset} must lie in 0..12 (the spare octave)")
        if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise ValueError(f"kernel {kernel} must be odd in both axes, so that frequency shifts stay aligned")
        self.sample_rate, self.offset, self.n_bins = sample_rate, offset, 12 * n_octaves
        self.embed_dim = 24
        self.frame_rate = sample_rate / hop_length / math.prod(time_pools)
        self.frontend = CQT(sample_rate, hop_length, fmin, n_octaves + 1, 12, mean=cqt_mean, std=cqt_std)
        self.input_bn = nn.BatchNorm2d(1)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel, padding=(kernel[0] // 2, kernel[1] // 2), padding_mode="replicate"),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.AvgPool2d((1, pool), ceil_mode=True) if pool > 1 else nn.Identity(),
            )
            for c_in, c_out, pool in zip([1, *channels[:-1]], channels, time_pools)
        )
        self.classifier = nn.Conv2d(channels[-1], 2, kernel_size=1)
        self.mode_norm = nn.BatchNorm1d(2, affine=False)

    def feature_maps(self, cqt: torch.Tensor) -> list[torch.Tensor]:
        """Every block's maps at full frequency resolution, then the classifier's: (B, 1, n_bins, T) →
        [(B, C_l, n_bins, T_l), ..., (B, 2, n_bins, T)]. Exactly equivariant to a shift of the input away from the
        crop's edges (the tests check it bin by bin). Float32 even under autocast: these narrow convolutions ran 10×
        slower in bf16 than in fp32 on a CPU (oneDNN, 16-32 channels, 7 × 5 kernels), and the network is small."""
        maps = []
        with full_precision(cqt):
            x = self.input_bn(cqt.float())
            for block in self.blocks:
                x = block(x)  # (B, C_l, n_bins, T_l)
                maps.append(x)
            return [*maps, self.classifier(x)]

    def states_from_cqt(self, cqt: torch.Tensor) -> list[torch.Tensor]:
        """The layers after the crop: (B, 1, n_bins, T) → per-layer frames, as `hidden_states`."""
        return [octave_average(x).flatten(1, 2).transpose(1, 2) for x in self.feature_maps(cqt)]  # (B, T_l, C_l · 12)

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        cqt = self.frontend(wave)  # (B, 1, n_bins + 12, T)
        return self.states_from_cqt(cqt[:, :, self.offset:self.offset + self.n_bins])

    def key_logits(self, frames: torch.Tensor) -> torch.Tensor:
        """Per-frame key logits (B, T, 24) → clip logits (B, 2, 12): the mean over time, each mode standardised."""
        clip = frames.mean(dim=1).view(-1, 2, 12)  # (B, 2, 12)
        return self.mode_norm(clip)
