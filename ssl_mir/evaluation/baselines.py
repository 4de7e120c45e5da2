"""Baselines that need no pre-training: random weights of a given architecture, the same architecture trained with
supervision, and the handcrafted features (MFCC statistics for timbre, chroma statistics for tonality); and the spec
strings that name them and exported encoders."""

from __future__ import annotations

from pathlib import Path

import torch

from ssl_mir.encoders.base import Encoder
from ssl_mir.encoders.chroma import ChromaStats
from ssl_mir.encoders.mfcc import MFCCStats
from ssl_mir.export import build_encoder, load_encoder, read_config

RANDOM_PREFIX = "random:"
SUPERVISED_PREFIX = "supervised:"
MFCC = "mfcc"
CHROMA = "chroma"
HANDCRAFTED = {MFCC: MFCCStats, CHROMA: ChromaStats}  # spec → parameter-free encoder class


def random_encoder(artifact: str | Path, seed: int = 0) -> Encoder:
    """The architecture of an exported encoder, with fresh seeded weights and default normalisation, frozen."""
    torch.manual_seed(seed)
    encoder = build_encoder(read_config(artifact))
    encoder.requires_grad_(False)
    return encoder.eval()


def check_spec(spec: str) -> None:
    """Raise if `spec` names no encoder: an artifact folder that is missing or not an export."""
    if spec not in HANDCRAFTED:
        read_config(spec.removeprefix(RANDOM_PREFIX).removeprefix(SUPERVISED_PREFIX))


def resolve_encoder(spec: str, seed: int = 0, sample_rate: int = 16000) -> Encoder:
    """'PATH' loads an exported encoder; 'random:PATH' builds its architecture with random weights, frozen;
    'supervised:PATH' the same, trainable, to be trained end to end; 'mfcc' and 'chroma' are the MFCC- and
    chroma-statistics baselines at `sample_rate`."""
    if spec in HANDCRAFTED:
        return HANDCRAFTED[spec](sample_rate=sample_rate).eval()
    if spec.startswith(RANDOM_PREFIX):
        return random_encoder(spec.removeprefix(RANDOM_PREFIX), seed)
    if spec.startswith(SUPERVISED_PREFIX):
        return random_encoder(spec.removeprefix(SUPERVISED_PREFIX), seed).requires_grad_(True).train()
    return load_encoder(spec)
