"""`ssl-mir export`: a training checkpoint's encoder as safetensors + JSON."""

from __future__ import annotations

from pathlib import Path

import torch
from jsonargparse import ArgumentParser


def export(args: list[str]) -> None:
    """Export the encoder of a training checkpoint as safetensors + JSON, using the run's config.yaml."""
    import yaml

    from ssl_mir.export import build_encoder, save_encoder

    parser = ArgumentParser(prog="ssl-mir export", description=export.__doc__, default_env=False)
    parser.add_argument("--run", type=str, required=True, help="run folder holding config.yaml")
    parser.add_argument("--ckpt", type=str, default=None, help="checkpoint (default: <run>/checkpoints/last.ckpt)")
    parser.add_argument("--out", type=str, required=True, help="artifact folder")
    cfg = parser.parse_args(args)
    run = Path(cfg.run)
    ckpt = Path(cfg.ckpt or run / "checkpoints" / "last.ckpt")
    model = yaml.safe_load((run / "config.yaml").read_text())["model"]
    encoder = build_encoder(model["init_args"]["encoder"])
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    encoder.load_state_dict({k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")},
                            strict=True)
    method = model["class_path"].rpartition(".")[2]
    print(save_encoder(encoder, cfg.out, meta={"method": method, "ckpt": str(ckpt)}))
