"""Frozen embeddings: time-averaged encoder outputs per chunk, computed without gradients."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from ssl_mir.data.datasets import ChunkDataset
from ssl_mir.encoders.base import Encoder


@dataclass
class ChunkEmbeddings:
    """x: (N, D) chunk embeddings; clip: (N,) clip index of each chunk."""

    x: torch.Tensor
    clip: torch.Tensor


@torch.no_grad()
def embed(encoder: Encoder, wave: torch.Tensor) -> torch.Tensor:
    """Clip embeddings of waveforms at `encoder.sample_rate`: (B, S) or (S,) → (B, D) or (D,)."""
    encoder.eval()
    single = wave.dim() == 1
    device = next(iter(encoder.state_dict().values())).device  # buffers too: MFCCStats has no parameters
    out = encoder.embed((wave.reshape(1, -1) if single else wave).to(device))
    return out[0] if single else out


def _ready(encoder: Encoder, device: torch.device | str | None) -> torch.device:
    """Move the encoder to `device` (default: CUDA when available) in eval() mode; return the device."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    encoder.to(device).eval()
    return device


@torch.no_grad()
def extract(encoder: Encoder, dataset: ChunkDataset, batch_size: int = 32, num_workers: int = 0,
            device: torch.device | str | None = None) -> ChunkEmbeddings:
    """Embed every chunk of `dataset`; the encoder is put in eval() mode and left on `device`."""
    device = _ready(encoder, device)
    xs, clips = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, num_workers=num_workers):
        xs.append(encoder.embed(batch["wave"].to(device)).float().cpu())  # (B, D)
        clips.append(batch["clip"])
    return ChunkEmbeddings(torch.cat(xs), torch.cat(clips))


@torch.no_grad()
def extract_frames(encoder: Encoder, dataset: ChunkDataset, layer: int = -1, batch_size: int = 32,
                   device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Frame embeddings of one layer per clip, chunks joined in time order: a list of (T_clip, D_layer)."""
    device = _ready(encoder, device)
    per_clip: dict[int, list[torch.Tensor]] = {}
    for batch in DataLoader(dataset, batch_size=batch_size):  # chunks come in clip and time order
        frames = encoder.hidden_states(batch["wave"].to(device))[layer].float().cpu()  # (B, T, D)
        for clip, f in zip(batch["clip"].tolist(), frames):
            per_clip.setdefault(clip, []).append(f)
    return [torch.cat(per_clip[c]) for c in range(len(dataset.rows))]
