"""Transformer over log-mel patches: 2D patches (Audio-MAE, M2D) or whole-spectrum frame patches (MSM-MAE).

Dosovitskiy et al., "An Image is Worth 16x16 Words" (ICLR 2021) for the patch transformer; Huang et al., "Masked
Autoencoders that Listen" (NeurIPS 2022) and Niizumi et al., "Masked Spectrogram Modeling using Masked Autoencoders
for Learning General-purpose Audio Representation" (HEAR 2021) for its use on spectrograms. Pre-norm blocks with
attention through `torch.nn.functional.scaled_dot_product_attention`.

The pieces a masked-prediction method needs are public: `patches` (normalised log-mel cut into patches), `tokens`
(their linear embedding), `positions`, and `encode` (the blocks over any subset of tokens).
"""

from __future__ import annotations

import functools
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ssl_mir.augment.spectrogram import SpecAugment
from ssl_mir.encoders.base import Encoder
from ssl_mir.frontends import LogMel

Grid = tuple[int, int]  # patches along frequency and time


def sinusoidal(n: int, dim: int) -> torch.Tensor:
    """Vaswani et al. (2017) position encodings: (n, dim)."""
    position = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(n, dim)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return table


def grid_positions(grid: Grid, dim: int) -> torch.Tensor:
    """2D sinusoidal positions for a (F', T') grid, frequency-major: half the channels for each axis. (F'·T', dim)."""
    f, t = grid
    half = dim // 2
    freq_part = sinusoidal(f, half)[:, None, :].expand(f, t, half)
    time_part = sinusoidal(t, dim - half)[None, :, :].expand(f, t, dim - half)
    return torch.cat([freq_part, time_part], dim=-1).reshape(f * t, dim)


@functools.lru_cache(maxsize=16)
def device_positions(grid: Grid, dim: int, device: torch.device) -> torch.Tensor:
    """`grid_positions` made once per grid and device and kept there, read-only: made on the host and copied over at
    every step, they made a GPU's host wait for the device (a blocking copy) at each pass of an encoder."""
    with torch.inference_mode(False):  # a table made during evaluation is used in training too
        return grid_positions(grid, dim).to(device)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float) -> torch.Tensor:
    """Scaled dot-product attention, (B, H, N, d) each.

    On a CPU in bf16 or fp16 (under autocast), written out: scores, softmax and the product with v in the inputs'
    dtype (torch's CPU softmax accumulates in fp32 and rounds once, as an fp32 softmax cast back would). torch's math
    backend upcasts everything to fp32 on a CPU and its flash kernel's backward is slower still: forward and backward
    measured 1.9-3.0x faster than the math backend at these lengths (a few hundred tokens; benchmarks/attention.py).
    Elsewhere, fp32 on a CPU included, torch's choice of kernel (on a CPU in fp32 its flash kernel, the fastest
    there in the same benchmark).
    """
    if q.device.type == "cpu" and q.dtype in (torch.bfloat16, torch.float16):
        scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (B, H, N, N)
        return F.dropout(scores.softmax(dim=-1), dropout_p) @ v  # (B, H, N, d)
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + MLP(LN(x)). (B, N, D) → (B, N, D)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attended = attention(q, k, v, self.dropout if self.training else 0.0)  # (B, H, N, d)
        x = x + self.proj(attended.transpose(1, 2).reshape(b, n, d))  # (B, N, D)
        return x + self.mlp(self.norm2(x))


class PatchTransformer(Encoder):
    """Normalised log-mel → patches → linear embedding + positions → transformer blocks → frames: the frequency
    patches of each time step averaged (B, T', D), or concatenated (B, T', F'·D) as in the evaluation of MSM-MAE and
    M2D (Niizumi et al. 2022, 2023), which keeps where in frequency each feature sits.

    Args:
        sample_rate: input rate.
        n_mels: mel bands.
        n_fft: STFT size.
        hop_length: STFT hop.
        patch_freq: mel bands per patch; n_mels gives frame patches (MSM-MAE), fewer gives 2D patches (Audio-MAE).
        patch_time: spectrogram frames per patch.
        dim: token width.
        depth: transformer blocks.
        heads: attention heads.
        mlp_ratio: MLP width over dim.
        positions: "sinusoidal" (any length) or "learned" (interpolated along time beyond `max_time_patches`).
        max_time_patches: time patches a learned table holds.
        mel_mean: log-mel normalisation mean (a buffer).
        mel_std: log-mel normalisation std (a buffer).
        spec_augment: SpecAugment masks of the normalised log-mel while training (Park et al. 2019), in the encoder's
            own forward only: masked-prediction methods read `patches()`, whose targets stay whole.
        frequency: how a time step's frequency patches make its frame: "mean" (width `dim`) or "concat" (width
            `dim` times the patches along frequency). Tokens keep width `dim` (`token_dim`) either way.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mels: int = 64,
        n_fft: int = 512,
        hop_length: int = 256,
        patch_freq: int = 16,
        patch_time: int = 4,
        dim: int = 192,
        depth: int = 4,
        heads: int = 3,
        mlp_ratio: float = 4.0,
        positions: Literal["sinusoidal", "learned"] = "sinusoidal",
        max_time_patches: int = 64,
        mel_mean: float = 0.0,
        mel_std: float = 1.0,
        spec_augment: SpecAugment | None = None,
        frequency: Literal["mean", "concat"] = "mean",
    ) -> None:
        super().__init__()
        if n_mels % patch_freq:
            raise ValueError(f"n_mels {n_mels} is not a multiple of patch_freq {patch_freq}")
        if frequency not in ("mean", "concat"):
            raise ValueError(f"frequency must be mean or concat, got {frequency!r}")
        self.sample_rate = sample_rate
        self.frequency = frequency
        self.token_dim = dim
        self.embed_dim = dim * (n_mels // patch_freq if frequency == "concat" else 1)
        self.frame_rate = sample_rate / hop_length / patch_time
        self.patch_freq, self.patch_time = patch_freq, patch_time
        self.patch_dim = patch_freq * patch_time
        self.freq_patches = n_mels // patch_freq
        self.frontend = LogMel(sample_rate, n_fft, hop_length, n_mels, mean=mel_mean, std=mel_std)
        self.spec_augment = spec_augment
        self.patch_embed = nn.Linear(self.patch_dim, dim)
        self.learned = None
        if positions == "learned":
            self.learned = nn.Parameter(grid_positions((self.freq_patches, max_time_patches), dim)
                                        .view(self.freq_patches, max_time_patches, dim).clone())
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def patches(self, wave: torch.Tensor) -> tuple[torch.Tensor, Grid]:
        """(B, S) → normalised log-mel patches (B, N, patch_freq·patch_time), frequency-major, and the grid (F', T').
        Trailing frames that do not fill a patch are dropped."""
        return self.patchify(self.frontend(wave))

    def patchify(self, spec: torch.Tensor) -> tuple[torch.Tensor, Grid]:
        """(B, 1, F, T) → patches (B, N, patch_freq·patch_time) and the grid (F', T'), as `patches`."""
        mel = spec[:, 0]  # (B, F, T)
        t = mel.shape[-1] // self.patch_time
        if t == 0:
            raise ValueError(f"input of {mel.shape[-1]} frames is shorter than one patch of {self.patch_time} frames")
        b = mel.shape[0]
        mel = mel[..., : t * self.patch_time].reshape(b, self.freq_patches, self.patch_freq, t, self.patch_time)
        return mel.permute(0, 1, 3, 2, 4).reshape(b, self.freq_patches * t, self.patch_dim), (self.freq_patches, t)

    def tokens(self, patches: torch.Tensor) -> torch.Tensor:
        """Patch embeddings without positions: (B, N, P) → (B, N, D)."""
        return self.patch_embed(patches)

    def positions(self, grid: Grid) -> torch.Tensor:
        """Position embeddings of a grid: (F'·T', D)."""
        if self.learned is None:
            return device_positions(grid, self.token_dim, self.patch_embed.weight.device)
        table = self.learned  # (F', T_max, D)
        if grid[1] != table.shape[1]:
            table = table[:, : grid[1]] if grid[1] < table.shape[1] else F.interpolate(
                table.permute(0, 2, 1), size=grid[1], mode="linear", align_corners=False).permute(0, 2, 1)
        return table.reshape(-1, self.token_dim)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Blocks over tokens with positions (B, n, D), any subset of the grid; every block's output, the last one
        layer-normed."""
        states = []
        for block in self.blocks:
            x = block(x)
            states.append(x)
        states[-1] = self.norm(states[-1])
        return states

    def encode_patches(self, patches: torch.Tensor, grid: Grid, keep: torch.Tensor) -> torch.Tensor:
        """The blocks over the patches at grid indices `keep` only, with their positions: patches (B, N, P) and
        keep (B, n) → the last state (B, n, D). The other patches never enter (MAE's visible tokens, M2D's two
        branches)."""
        chosen = patches.gather(1, keep[..., None].expand(-1, -1, patches.shape[-1]))  # (B, n, P)
        return self.encode(self.tokens(chosen) + self.positions(grid)[keep])[-1]  # (B, n, D)

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        spec = self.frontend(wave)  # (B, 1, F, T)
        if self.spec_augment is not None:  # masks while training only
            spec = self.spec_augment(spec)
        patches, grid = self.patchify(spec)
        states = self.encode(self.tokens(patches) + self.positions(grid))
        b = wave.shape[0]
        grids = [h.view(b, grid[0], grid[1], -1) for h in states]  # each (B, F', T', D)
        if self.frequency == "mean":
            return [g.mean(dim=1) for g in grids]  # each (B, T', D)
        return [g.permute(0, 2, 1, 3).reshape(b, grid[1], -1) for g in grids]  # each (B, T', F'·D)
