"""Shared fixtures: small generated corpora and audio files written with soundfile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(autouse=True)
def _environment_restored() -> object:
    """Each test starts from the same environment: Lightning's DDP set-up writes LOCAL_RANK, WORLD_SIZE,
    MASTER_PORT and the like into os.environ, and a later subprocess would take itself for a rank of that job."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built-in corpus (SoundFont backend when installed): 48 clips of 3 s at 16 kHz."""
    from ssl_mir.data.synthetic import synthesize

    return synthesize(tmp_path_factory.mktemp("corpus"), n=48, seed=0, duration=3.0)


@pytest.fixture(scope="session")
def corpus_shards(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's 48 clips (its audio folder: no splits) written by `ssl-mir shard` as one flat shard folder, in
    small chunks so that ranks and workers share many."""
    from ssl_mir.data.shards import write_shards

    return Path(write_shards(str(corpus.parent / "audio"), str(tmp_path_factory.mktemp("shards") / "flat"),
                             chunk_bytes="200KB", workers=2))


@pytest.fixture(scope="session")
def labeled_shards(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus's manifest (splits and labels) written by `ssl-mir shard`: one folder per split."""
    from ssl_mir.data.shards import write_shards

    return Path(write_shards(str(corpus), str(tmp_path_factory.mktemp("shards") / "labeled"), chunk_bytes="300KB",
                             workers=2))


def free_port() -> int:
    """A free port on 127.0.0.1 for a process group's rendezvous, whatever else the suite runs."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_tone(path: Path, freq: float = 440.0, seconds: float = 2.0, sr: int = 16000, channels: int = 1,
               amp: float = 0.5, **kwargs: object) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    x = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    sf.write(path, data, sr, **kwargs)
    return path
