"""The HEAR 2021 common API (Turian et al., "HEAR: Holistic Evaluation of Audio Representations", PMLR 2022) over
an exported encoder, so that the HEAR benchmark and MARBLE's HEAR-style runners can evaluate it:

    import ssl_mir.hear as hear
    model = hear.load_model("runs/demo/pretrain/encoder")
    frames, timestamps_ms = hear.get_timestamp_embeddings(audio, model)  # audio (n_sounds, n_samples) in [-1, 1]
    scenes = hear.get_scene_embeddings(audio, model)

Sounds are encoded in non-overlapping chunks of `chunk_seconds` (the last one zero-padded), the length encoders are
probed with, and the chunks' frames joined in time: timestamps are the centres of the frames, in milliseconds, evenly
spaced, and frames centred past the end of the sound are dropped. A scene embedding is the mean and standard deviation
of the timestamp embeddings over time (the pooling `ssl-mir compare` measured best on the pieces corpus).
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.encoders.base import Encoder, pool_frames
from ssl_mir.export import load_encoder


class HearModel(nn.Module):
    """An encoder with the attributes HEAR asks for.

    Args:
        encoder: the exported encoder.
        layer: which hidden state gives the timestamp embeddings (-1: the output).
        chunk_seconds: the length sounds are encoded in.
    """

    def __init__(self, encoder: Encoder, layer: int = -1, chunk_seconds: float = 4.0) -> None:
        super().__init__()
        self.encoder, self.layer = encoder.eval(), layer
        self.chunk_samples = round(chunk_seconds * encoder.sample_rate)
        self.sample_rate: int = int(encoder.sample_rate)
        with torch.no_grad():
            probe = encoder.hidden_states(torch.zeros(1, self.chunk_samples))[layer]  # (1, T, D)
        self.frames_per_chunk = probe.shape[1]
        self.timestamp_embedding_size: int = int(probe.shape[2])
        self.scene_embedding_size: int = 2 * self.timestamp_embedding_size

    @torch.no_grad()
    def timestamp_embeddings(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, S) → embeddings (n, T, D) float32 and timestamps (n, T) in ms."""
        if audio.ndim != 2:
            raise ValueError(f"HEAR audio is (n_sounds, n_samples), got shape {tuple(audio.shape)}")
        n, length = audio.shape
        chunks = -(-max(length, 1) // self.chunk_samples)
        padded = torch.nn.functional.pad(audio.float(), (0, chunks * self.chunk_samples - length))  # (n, C·L)
        device = next(self.encoder.parameters(), torch.empty(0)).device
        states = self.encoder.hidden_states(padded.view(n * chunks, self.chunk_samples).to(device))[self.layer]
        frames = states.float().reshape(n, chunks * self.frames_per_chunk, -1)  # (n, C·T, D)
        hop_ms = 1000.0 * self.chunk_samples / self.sample_rate / self.frames_per_chunk
        times = (torch.arange(frames.shape[1], device=frames.device) + 0.5) * hop_ms  # (C·T,)
        keep = max(1, int((times < 1000.0 * length / self.sample_rate).sum()))
        return frames[:, :keep], times[:keep].expand(n, -1).contiguous()


def load_model(model_file_path: str = "", layer: int = -1, chunk_seconds: float = 4.0) -> HearModel:
    """HEAR's `load_model`: `model_file_path` is an exported encoder folder (`ssl-mir export`, or a run's
    `encoder/`); safetensors and JSON only, nothing is unpickled."""
    if not model_file_path:
        raise ValueError("ssl_mir.hear.load_model needs an exported encoder folder (encoder.json + "
                         "encoder.safetensors); there is no default model")
    return HearModel(load_encoder(model_file_path), layer, chunk_seconds)


def get_timestamp_embeddings(audio: torch.Tensor, model: HearModel) -> tuple[torch.Tensor, torch.Tensor]:
    """HEAR's `get_timestamp_embeddings`: (n_sounds, n_samples) → ((n_sounds, n_frames, D), (n_sounds, n_frames) ms)."""
    return model.timestamp_embeddings(audio)


def get_scene_embeddings(audio: torch.Tensor, model: HearModel) -> torch.Tensor:
    """HEAR's `get_scene_embeddings`: (n_sounds, n_samples) → (n_sounds, 2·D), the mean and std over time."""
    frames, _ = model.timestamp_embeddings(audio)
    return pool_frames(frames, "mean_std")
