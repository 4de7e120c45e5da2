"""The frozen-encoder artifact: encoder.safetensors (weights and buffers) plus encoder.json (how to rebuild it).

No pickle: the JSON names the class and its constructor arguments, and only `Encoder` subclasses from allowed
module prefixes are imported. Loading is strict, so a renamed or missing weight is an error, not a silent default.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ssl_mir.atomic import CorruptFileError, write_atomic, write_text_atomic
from ssl_mir.configurable import build
from ssl_mir.encoders.base import Encoder

FORMAT = "ssl_mir.encoder/1"
WEIGHTS = "encoder.safetensors"
CONFIG = "encoder.json"


def all_finite(tensors: Iterable[torch.Tensor | None]) -> bool:
    """Whether every floating-point tensor is free of NaNs and infinities, read back once for all of them (their
    largest magnitudes, taken together by foreach kernels): one check per tensor would make an accelerator's host wait
    once per tensor."""
    floats = [t.detach() for t in tensors if t is not None and t.is_floating_point()]
    return not floats or bool(torch.isfinite(torch.nn.utils.get_total_norm(floats, math.inf)))


def non_finite(named: Iterable[tuple[str, torch.Tensor | None]]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity."""
    return [name for name, t in named
            if t is not None and t.is_floating_point() and not bool(torch.isfinite(t).all())]


def save_encoder(encoder: Encoder, directory: str | Path, meta: dict[str, Any] | None = None) -> Path:
    """Write the artifact folder and return its path; an encoder with a NaN or infinite weight or buffer is refused
    before anything is written."""
    directory = Path(directory)
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    bad = non_finite(state.items())
    if bad:
        raise ValueError(f"{directory}: refusing to export an encoder whose weights are NaN or infinite "
                         f"({', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}): the run diverged")
    # Each file is whole or absent (`write_atomic`); the JSON, which loading starts from, comes last.
    write_atomic(directory / WEIGHTS, lambda tmp: save_file(state, str(tmp)))
    config = {
        "format": FORMAT,
        "class_path": encoder.class_path,
        "init_args": encoder.get_config(),
        "embed_dim": encoder.embed_dim,
        "sample_rate": encoder.sample_rate,
        "frame_rate": encoder.frame_rate,
        "meta": {**_provenance(), **(meta or {})},
    }
    write_text_atomic(directory / CONFIG, json.dumps(config, indent=2, default=str))
    return directory


def read_config(directory: str | Path) -> dict[str, Any]:
    """The artifact's JSON, checked for format."""
    path = Path(directory) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{directory}: not an exported encoder (no {CONFIG})")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"{path}: not valid JSON, truncated or corrupt ({err})") from err
    found = config.get("format") if isinstance(config, dict) else type(config).__name__
    if found != FORMAT:
        raise ValueError(f"{path}: unknown format {found!r}, expected {FORMAT!r}")
    return config


def build_encoder(config: dict[str, Any], allowed: tuple[str, ...] | None = None) -> Encoder:
    """Instantiate (with fresh weights) the encoder an artifact's config describes, from ssl_mir's classes and the
    trusted packages' (`configurable.trust`) unless `allowed` names the module prefixes."""
    return build(config, Encoder, allowed)


def load_encoder(directory: str | Path, allowed: tuple[str, ...] | None = None) -> Encoder:
    """Rebuild, load strictly, freeze and set to eval()."""
    encoder = build_encoder(read_config(directory), allowed)
    weights = Path(directory) / WEIGHTS
    try:
        state = load_file(str(weights))
    except FileNotFoundError:
        raise FileNotFoundError(f"{directory}: the exported encoder has no {WEIGHTS}") from None
    except Exception as err:  # noqa: BLE001 (safetensors raises its own SafetensorError and OSErrors)
        raise CorruptFileError(f"{weights}: not readable safetensors, truncated or corrupt ({err})") from err
    encoder.load_state_dict(state, strict=True)
    encoder.requires_grad_(False)
    return encoder.eval()


def _provenance() -> dict[str, Any]:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent)
        git = done.stdout.strip() if done.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        git = ""
    import ssl_mir

    return {"git": git, "versions": {"ssl_mir": ssl_mir.__version__, "torch": torch.__version__,
                                     "python": platform.python_version()}}
