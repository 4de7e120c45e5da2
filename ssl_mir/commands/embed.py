"""`ssl-mir embed`: an encoder's embeddings of a corpus, sharded over torchrun or srun processes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from jsonargparse import ArgumentParser


def process_share() -> tuple[int, int]:
    """(rank, world) of this process in a torchrun or srun launch (RANK / WORLD_SIZE, or SLURM_PROCID /
    SLURM_NTASKS), else (0, 1)."""
    import os

    for rank, world in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank in os.environ and world in os.environ:
            return int(os.environ[rank]), int(os.environ[world])
    return 0, 1


def embed(args: list[str]) -> None:
    """Write an encoder's embeddings of a folder, a manifest or a shard folder, clip or frame level, of any layer, as
    .npy files (with index.csv) or one Parquet table. Launched as several processes (torchrun, srun), each takes
    every N-th file and writes its own part (`embeddings-00001-of-00004.parquet`, …): a sharded Parquet dataset."""
    from ssl_mir.data.audio import MAX_AMPLITUDE, read_crop
    from ssl_mir.data.datasets import ChunkDataset
    from ssl_mir.data.manifest import Manifest
    from ssl_mir.data.shards import SUMMARY, ShardReader, is_url, shard_manifest
    from ssl_mir.evaluation.embeddings import extract_frames
    from ssl_mir.evaluation.writers import write_embeddings
    from ssl_mir.export import load_encoder

    parser = ArgumentParser(prog="ssl-mir embed", description=embed.__doc__, default_env=False)
    parser.add_argument("--encoder", type=str, required=True, help="exported encoder folder")
    parser.add_argument("--data", type=str, required=True,
                        help="a folder of audio, a CSV/JSONL manifest, or a shard folder (ssl-mir shard)")
    parser.add_argument("--out", type=str, required=True, help="output folder")
    parser.add_argument("--level", type=Literal["clip", "frame"], default="clip")
    parser.add_argument("--format", type=Literal["npy", "parquet"], default="npy")
    parser.add_argument("--layer", type=int, default=-1, help="index into encoder.hidden_states (-1: the output)")
    parser.add_argument("--chunk_seconds", type=float, default=4.0, help="files are encoded in chunks this long")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--on_bad_file", type=Literal["raise", "skip"], default="raise")
    parser.add_argument("--max_amplitude", type=float, default=MAX_AMPLITUDE, help="files peaking above are bad")
    cfg = parser.parse_args(args)
    encoder = load_encoder(cfg.encoder)
    rank, world = process_share()
    if is_url(cfg.data) or (Path(cfg.data) / SUMMARY).is_file():
        reader: object = ShardReader(cfg.data)
        rows = shard_manifest(cfg.data).rows[rank::world]
    else:
        reader = read_crop
        manifest = Manifest.load(cfg.data)
        rows = Manifest(manifest.rows[rank::world], manifest.source).check(cfg.on_bad_file,
                                                                          max_amplitude=cfg.max_amplitude).rows
    chunks = ChunkDataset(rows, encoder.sample_rate, round(cfg.chunk_seconds * encoder.sample_rate), reader=reader)
    frames = extract_frames(encoder, chunks, cfg.layer, cfg.batch_size, device=local_device())
    encoder.cpu()  # pooling clips below runs on the frames, on the CPU
    hop_s = cfg.chunk_seconds * len(chunks) / sum(len(f) for f in frames)  # this layer's hop: equal chunks, equal frames
    written = write_embeddings(encoder, rows, frames, cfg.out, cfg.level, cfg.format, hop_s,
                               part=(rank, world) if world > 1 else None)
    print(f"{len(rows)} files → {written}")


def local_device() -> torch.device:
    """This process's GPU (LOCAL_RANK or SLURM_LOCALID), else the CPU."""
    import os

    if not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", 0))))
