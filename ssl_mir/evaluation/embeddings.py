"""Frozen embeddings: every hidden state of an encoder, pooled over time per chunk, computed without gradients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Union

import torch
from torch.utils.data import DataLoader

from ssl_mir.data.datasets import ChunkDataset
from ssl_mir.encoders.base import Encoder, Pooling
from ssl_mir.progress import progress


Layer = Union[int, Literal["weighted"]]  # a hidden-state index, or all of them for a learnt weighted sum


@dataclass
class ChunkEmbeddings:
    """layers: per hidden state, the time-pooled chunk embeddings (N, D_l), the last being the encoder's embedding;
    clip: (N,) clip index of each chunk."""

    layers: list[torch.Tensor]
    clip: torch.Tensor

    @property
    def x(self) -> torch.Tensor:
        """The encoder's embedding of each chunk, (N, D)."""
        return self.layers[-1]

    def features(self, layer: Layer = -1) -> torch.Tensor:
        """One layer (N, D_l), or for "weighted" every layer stacked (N, L, D), which needs equal widths."""
        if layer != "weighted":
            return self.layers[layer]
        widths = sorted({x.shape[1] for x in self.layers})
        if len(widths) > 1:
            raise ValueError(f"a weighted sum of layers needs equal widths, but this encoder's are {widths}; "
                             f"probe them one by one (probe.layers: each)")
        return torch.stack(self.layers, dim=1)

    def select(self, clips: list[int]) -> ChunkEmbeddings:
        """The chunks of `clips`, with clip ids renumbered to positions in `clips` (a label-fraction subset)."""
        position = torch.full((int(self.clip.max()) + 1,), -1, dtype=torch.long)
        position[torch.tensor(clips, dtype=torch.long)] = torch.arange(len(clips))
        keep = position[self.clip] >= 0
        return ChunkEmbeddings([x[keep] for x in self.layers], position[self.clip[keep]])


@torch.no_grad()
def embed(encoder: Encoder, wave: torch.Tensor) -> torch.Tensor:
    """Clip embeddings of waveforms at `encoder.sample_rate`: (B, S) or (S,) → (B, D) or (D,)."""
    encoder.eval()
    single = wave.dim() == 1
    device = next(iter(encoder.state_dict().values())).device  # buffers too: MFCCStats has no parameters
    out = encoder.embed((wave.reshape(1, -1) if single else wave).to(device))
    return out[0] if single else out


class NonFiniteEmbeddingError(ValueError):
    """An encoder gave NaN or infinite values for a file: the embedding would be a silent wrong result."""


def check_finite(x: torch.Tensor, clips: torch.Tensor, dataset: ChunkDataset, what: str) -> None:
    """Raise `NonFiniteEmbeddingError` naming the first file whose chunk has a non-finite value in `x` (B, ...)."""
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1)  # (B,)
    if bad.any():
        clip = int(clips[bad.nonzero()[0, 0]])
        raise NonFiniteEmbeddingError(f"{dataset.rows[clip].path}: the encoder's {what} holds NaN or infinite values "
                                      f"({int(bad.sum())} of {len(x)} chunks in this batch); check the file's "
                                      f"amplitudes and the encoder's weights")


def _ready(encoder: Encoder, device: torch.device | str | None) -> torch.device:
    """Move the encoder to `device` (default: CUDA when available) in eval() mode; return the device."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    encoder.to(device).eval()
    return device


@torch.no_grad()
def extract(encoder: Encoder, dataset: ChunkDataset, batch_size: int = 32, num_workers: int = 0,
            device: torch.device | str | None = None, pooling: Pooling = "encoder") -> ChunkEmbeddings:
    """Embed every chunk of `dataset` at every layer, pooled over time by `pooling` (`Encoder.layer_embeddings`);
    the encoder is put in eval() mode and left on `device`."""
    device = _ready(encoder, device)
    per_layer: list[list[torch.Tensor]] = []
    clips = []
    for batch in DataLoader(dataset, batch_size=batch_size, num_workers=num_workers):
        layers = encoder.layer_embeddings(batch["wave"].to(device), pooling)  # L × (B, D_l)
        per_layer = per_layer or [[] for _ in layers]
        for i, (store, x) in enumerate(zip(per_layer, layers)):
            store.append(x.float().cpu())
            check_finite(store[-1], batch["clip"], dataset, f"layer {i}")
        clips.append(batch["clip"])
    return ChunkEmbeddings([torch.cat(xs) for xs in per_layer], torch.cat(clips))


@torch.no_grad()
def extract_frames(encoder: Encoder, dataset: ChunkDataset, layer: int = -1, batch_size: int = 32,
                   device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Frame embeddings of one layer per clip, chunks joined in time order: a list of (T_clip, D_layer)."""
    device = _ready(encoder, device)
    per_clip: dict[int, list[torch.Tensor]] = {}
    loader = DataLoader(dataset, batch_size=batch_size)
    for batch in progress(loader, f"embedding {len(dataset.rows)} files", len(loader)):  # clip and time order
        frames = encoder.hidden_states(batch["wave"].to(device))[layer].float().cpu()  # (B, T, D)
        check_finite(frames, batch["clip"], dataset, f"layer {layer}")
        for clip, f in zip(batch["clip"].tolist(), frames):
            per_clip.setdefault(clip, []).append(f)
    return [torch.cat(per_clip[c]) for c in range(len(dataset.rows))]
