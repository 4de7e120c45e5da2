"""`ssl-mir export`: an encoder as safetensors + JSON, and as ONNX with `--format onnx`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

import torch
from jsonargparse import ArgumentParser


def from_checkpoint(run: Path, ckpt: Path) -> tuple[torch.nn.Module, dict]:
    """The encoder of a training checkpoint, built from the run's config.yaml, and what to record of it."""
    import yaml

    from ssl_mir.export import build_encoder

    model = yaml.safe_load((run / "config.yaml").read_text())["model"]
    encoder = build_encoder(model["init_args"]["encoder"])
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    encoder.load_state_dict({k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")},
                            strict=True)
    return encoder, {"method": model["class_path"].rpartition(".")[2], "ckpt": str(ckpt)}


def export(args: list[str]) -> None:
    """Export an encoder: from a training checkpoint (--run, using the run's config.yaml) or from an exported folder
    (--encoder), as safetensors + JSON, and with --format onnx also as encoder.onnx (waveform in, frames out, the
    front end inside the graph, batch and length dynamic)."""
    from ssl_mir.export import load_encoder, read_config, save_encoder
    from ssl_mir.export_onnx import export_onnx

    parser = ArgumentParser(prog="ssl-mir export", description=export.__doc__, default_env=False)
    parser.add_argument("--run", type=Optional[str], default=None, help="run folder holding config.yaml")
    parser.add_argument("--ckpt", type=Optional[str], default=None,
                        help="checkpoint (default: <run>/checkpoints/last.ckpt)")
    parser.add_argument("--encoder", type=Optional[str], default=None, help="or an exported encoder folder")
    parser.add_argument("--format", type=Literal["safetensors", "onnx"], default="safetensors",
                        help="onnx: encoder.onnx beside the safetensors and JSON")
    parser.add_argument("--out", type=str, required=True, help="artifact folder")
    cfg = parser.parse_args(args)
    if (cfg.run is None) == (cfg.encoder is None):
        raise ValueError("ssl-mir export: give either --run (a training run) or --encoder (an exported folder)")
    if cfg.run is not None:
        run = Path(cfg.run)
        encoder, meta = from_checkpoint(run, Path(cfg.ckpt or run / "checkpoints" / "last.ckpt"))
    else:
        encoder, meta = load_encoder(cfg.encoder), read_config(cfg.encoder).get("meta", {})
    out = save_encoder(encoder, cfg.out, meta=meta)
    if cfg.format == "onnx":
        out = export_onnx(encoder, cfg.out, read_config(cfg.out))
    print(out)
