"""An exported encoder as ONNX (`ssl-mir export --format onnx`): waveform in, frames out, the front end inside the
graph, batch and length dynamic, so that onnxruntime (CLMR's browser demo runs ONNX) needs neither torch nor ssl_mir.

Input `wave` (batch, samples) float32 at the encoder's sample rate; output `frames` (batch, time, dim), what
`encoder(wave)` gives. The encoder's JSON (class, arguments, sample and frame rate) travels in the model's metadata
under `ssl_mir.encoder`.

GRUs and LSTMs become ONNX GRU and LSTM nodes (`ssl_mir.onnx_rnn`).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import torch

from ssl_mir.atomic import write_atomic
from ssl_mir.encoders.base import Encoder

ONNX = "encoder.onnx"
OPSET = 18


def failing_operator(err: BaseException) -> str:
    """The ATen operators an export error names, or its first line when it names none."""
    text, chain = [], err
    while chain is not None:
        text.append(str(chain))
        chain = chain.__cause__ or chain.__context__
    ops = list(dict.fromkeys(op.replace("::", ".") for op in re.findall(r"aten(?:\.|::)\w+", "\n".join(text))))
    return f"operator {', '.join(ops)}" if ops else str(err).strip().splitlines()[0]


def export_onnx(encoder: Encoder, directory: str | Path, config: dict | None = None, seconds: float = 2.0) -> Path:
    """Write `directory/encoder.onnx` and return its path.

    Args:
        encoder: the encoder (put in eval mode here).
        directory: the artifact folder (beside encoder.safetensors and encoder.json).
        config: the encoder's JSON, stored in the model's metadata.
        seconds: length of the example input that traces the graph (the exported length is dynamic).

    Raises:
        ValueError: naming the encoder and the operator ONNX cannot express.
    """
    import onnx

    from ssl_mir.onnx_rnn import TRANSLATIONS, exportable

    path = Path(directory) / ONNX
    encoder = encoder.eval().cpu()
    example = 0.1 * torch.randn(2, round(seconds * encoder.sample_rate), generator=torch.Generator().manual_seed(0))
    # optimize=False: onnxscript's optimizer drops an addition of a constant within 1e-8 of zero, such as the log's
    # epsilon of the CQT (`log(x + 1e-8)` became `log(x)`, -inf on silence).
    try:
        with warnings.catch_warnings():  # the transformer's position tables are cached by a pure function of the
            warnings.filterwarnings("ignore", message=".*lru_cache.*")  # grid, which the trace rightly goes through
            program = torch.onnx.export(exportable(encoder), (example,), input_names=["wave"],
                                        output_names=["frames"], dynamic_axes={"wave": {0: "batch", 1: "samples"},
                                                                               "frames": {0: "batch", 1: "time"}},
                                        dynamo=True, optimize=False, opset_version=OPSET, verbose=False,
                                        custom_translation_table=TRANSLATIONS)
    except Exception as err:  # noqa: BLE001 (torch.export, decomposition and translation each raise their own)
        raise ValueError(f"{type(encoder).__name__} cannot be exported to ONNX: {failing_operator(err)} has no ONNX "
                         f"translation") from err
    model = program.model_proto
    onnx.helper.set_model_props(model, {"ssl_mir.encoder": json.dumps(config or {}, default=str)})
    write_atomic(path, lambda tmp: onnx.save_model(model, str(tmp)))
    return path
