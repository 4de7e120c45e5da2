"""Frozen targets for masked token prediction, computed from the input patches themselves.

`RandomProjectionTargets` is BEST-RQ's quantiser (Chiu et al. 2022). `KMeansTargets` holds centroids fitted by
`ssl-mir targets` on patch features (HuBERT's first iteration, Hsu et al. 2021; MERT's acoustic teacher uses
k-means on MFCC too, Li et al. 2024). Both are buffers: saved in checkpoints, never trained, never exported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
import torchaudio
from safetensors.torch import load_file, save_file
from torch import nn

from ssl_mir.encoders.transformer import Grid, PatchTransformer
from ssl_mir.frontends import CQT

Feature = Literal["logmel", "mfcc", "cqt"]
CENTROIDS, META = "centroids.safetensors", "targets.json"


class TokenFeatures(nn.Module):
    """Features of each token of a patch grid, for k-means targets: (wave (B, S), patches (B, N, P), grid) → (B, N, d).

    "logmel": the patch standardised by its own mean and variance (d = P). "mfcc": the DCT-II of each frame's log-mel
    bands in the patch, `n_mfcc` coefficients averaged over the patch's frames. "cqt": the log-CQT frames (frontends.CQT,
    C1 to B7, same hop as the log-mel) of the patch's time span, averaged, shared by every frequency patch of it.
    """

    def __init__(self, kind: Feature, encoder: PatchTransformer, n_mfcc: int = 13) -> None:
        super().__init__()
        self.kind, self.n_mfcc = kind, n_mfcc
        self.patch_freq, self.patch_time = encoder.patch_freq, encoder.patch_time
        self.cqt = CQT(encoder.sample_rate, encoder.frontend.hop_length) if kind == "cqt" else None

    @torch.no_grad()
    def forward(self, wave: torch.Tensor, patches: torch.Tensor, grid: Grid) -> torch.Tensor:
        patches = patches.float()
        if self.kind == "logmel":
            return F.layer_norm(patches, patches.shape[-1:])
        if self.kind == "mfcc":
            frames = patches.unflatten(-1, (self.patch_freq, self.patch_time)).transpose(-1, -2)  # (B, N, T_p, F_p)
            dct = torchaudio.functional.create_dct(self.n_mfcc, self.patch_freq, norm="ortho").to(patches.device)
            return (frames @ dct).mean(dim=-2)  # (B, N, n_mfcc)
        per_step = cqt_steps(self.cqt, wave, grid[1], self.patch_time).mean(dim=2)  # (B, T', K)
        return per_step[:, None].expand(-1, grid[0], -1, -1).flatten(1, 2)  # (B, F'·T', K)


def cqt_steps(cqt: CQT, wave: torch.Tensor, steps: int, patch_time: int) -> torch.Tensor:
    """Log-CQT frames grouped by time patch: (B, S) → (B, T', patch_time, K)."""
    c = cqt(wave)[:, 0, :, : steps * patch_time]  # (B, K, T'·patch_time)
    return c.unflatten(-1, (steps, patch_time)).permute(0, 2, 3, 1)


class RandomProjectionTargets(nn.Module):
    """Per codebook: standardised patch → frozen random projection (P → d) → index of the nearest of V random unit
    vectors (cosine). (wave, patches (B, N, P), grid) → (B, N, C) long; the wave is not used.

    Args:
        patch_dim: values per patch.
        codebook_size: V.
        codebook_dim: d.
        n_codebooks: C.
        seed: draws the projections and codebooks.
    """

    def __init__(self, patch_dim: int, codebook_size: int, codebook_dim: int, n_codebooks: int = 1,
                 seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        projection = torch.randn(n_codebooks, patch_dim, codebook_dim, generator=g) * (2.0 / (patch_dim + codebook_dim)) ** 0.5
        codebooks = F.normalize(torch.randn(n_codebooks, codebook_size, codebook_dim, generator=g), dim=-1)
        self.register_buffer("projection", projection)  # (C, P, d), Xavier-normal
        self.register_buffer("codebooks", codebooks)  # (C, V, d)
        self.vocabulary, self.n_codebooks = codebook_size, n_codebooks

    @torch.no_grad()
    def forward(self, wave: torch.Tensor, patches: torch.Tensor, grid: Grid) -> torch.Tensor:
        x = F.layer_norm(patches.float(), patches.shape[-1:])  # (B, N, P)
        projected = F.normalize(torch.einsum("bnp,cpd->bncd", x, self.projection), dim=-1)  # (B, N, C, d)
        return torch.einsum("bncd,cvd->bncv", projected, self.codebooks).argmax(dim=-1)  # (B, N, C)


class KMeansTargets(nn.Module):
    """Index of the nearest centroid (Euclidean) of each token's features: (wave, patches (B, N, P), grid) →
    (B, N, 1) long."""

    def __init__(self, centroids: torch.Tensor, features: TokenFeatures) -> None:
        super().__init__()
        self.register_buffer("centroids", centroids)  # (K, d)
        self.features = features
        self.vocabulary, self.n_codebooks = len(centroids), 1

    @torch.no_grad()
    def forward(self, wave: torch.Tensor, patches: torch.Tensor, grid: Grid) -> torch.Tensor:
        x = self.features(wave, patches, grid)  # (B, N, d)
        return torch.cdist(x, self.centroids[None].expand(len(x), -1, -1)).argmin(dim=-1, keepdim=True)

    @classmethod
    def load(cls, folder: str | Path, encoder: PatchTransformer) -> KMeansTargets:
        """Read `ssl-mir targets` output; the patch geometry it was fitted on must be the encoder's."""
        folder = Path(folder)
        if not (folder / META).is_file():
            raise FileNotFoundError(f"{folder}: no {META}; write targets with `ssl-mir targets`")
        meta = json.loads((folder / META).read_text())
        geometry = patch_geometry(encoder)
        if meta["geometry"] != geometry:
            raise ValueError(f"{folder}: targets were fitted on patches {meta['geometry']}, the encoder makes {geometry}")
        return cls(load_file(str(folder / CENTROIDS))["centroids"], TokenFeatures(meta["feature"], encoder))


def patch_geometry(encoder: PatchTransformer) -> dict[str, float]:
    """What decides a patch's contents: the front end, its normalisation and the patch size."""
    config = encoder.get_config()
    keys = ("sample_rate", "n_mels", "n_fft", "hop_length", "patch_freq", "patch_time", "mel_mean", "mel_std")
    return {k: config[k] for k in keys}


def kmeans(x: torch.Tensor, k: int, iterations: int = 50, seed: int = 0) -> torch.Tensor:
    """Centroids (k, d) of (N, d) features by scikit-learn's KMeans: Lloyd's iterations after greedy k-means++
    seeding (Arthur & Vassilvitskii 2007), one initialisation, seeded. It replaced a hand-written Lloyd that was 9×
    slower with a 29 % higher inertia on 50,000 × 13 features, k = 128 (benchmarks/kmeans.py)."""
    from sklearn.cluster import KMeans

    if len(x) < k:
        raise ValueError(f"k-means needs at least k = {k} points, got {len(x)}")
    fitted = KMeans(k, n_init=1, max_iter=iterations, random_state=seed).fit(x.detach().cpu().float().numpy())
    return torch.from_numpy(fitted.cluster_centers_).to(x.dtype)


def save_targets(centroids: torch.Tensor, feature: Feature, encoder: PatchTransformer, folder: str | Path,
                 meta: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"centroids": centroids.contiguous()}, str(folder / CENTROIDS))
    (folder / META).write_text(json.dumps({"feature": feature, "k": len(centroids),
                                           "geometry": patch_geometry(encoder), **(meta or {})}, indent=2))
    return folder
