"""An exported encoder as ONNX (`ssl-mir export --format onnx`): waveform in, frames out, the front end inside the
graph, batch and length dynamic, so that onnxruntime (CLMR's browser demo runs ONNX) needs neither torch nor ssl_mir.

Input `wave` (batch, samples) float32 at the encoder's sample rate; output `frames` (batch, time, dim), what
`encoder(wave)` gives. The encoder's JSON (class, arguments, sample and frame rate) travels in the model's metadata
under `ssl_mir.encoder`.

GRUs (the CRNN's) are exported as ONNX GRU nodes: torch.export's decomposition of `aten.gru` cannot run over a
dynamic time axis, so for the export each `nn.GRU` calls the same kernel through the custom operator `ssl_mir::gru`,
whose shapes are declared and which onnxscript's own translation of `aten::gru.input` turns into ONNX.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import torch
from torch import Tensor, nn

from ssl_mir.atomic import write_atomic
from ssl_mir.encoders.base import Encoder

ONNX = "encoder.onnx"
OPSET = 18


@torch.library.custom_op("ssl_mir::gru", mutates_args=())
def gru_op(input: Tensor, hx: Tensor, params: list[Tensor], has_biases: bool, num_layers: int, dropout: float,
           train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor]:
    """`torch.gru` (aten::gru.input) as an operator that torch.export keeps whole."""
    out, h = torch.gru(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    return out.clone(), h.clone()  # a custom operator's outputs may not alias anything


@gru_op.register_fake
def _gru_shapes(input: Tensor, hx: Tensor, params: list[Tensor], has_biases: bool, num_layers: int, dropout: float,
                train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor]:
    directions = 2 if bidirectional else 1
    return input.new_empty((*input.shape[:-1], hx.shape[-1] * directions)), hx.new_empty(hx.shape)  # (B, T, H·dirs)


class ExportableGRU(nn.Module):
    """An `nn.GRU` (its own parameters) called through `ssl_mir::gru`, from a zero initial state, in eval mode."""

    def __init__(self, gru: nn.GRU) -> None:
        super().__init__()
        self.gru = gru

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        g = self.gru
        batch = x.shape[0] if g.batch_first else x.shape[1]
        hx = x.new_zeros(g.num_layers * (2 if g.bidirectional else 1), batch, g.hidden_size)  # (L·dirs, B, H)
        return torch.ops.ssl_mir.gru(x, hx, list(g._flat_weights), g.bias, g.num_layers, 0.0, False, g.bidirectional,
                                     g.batch_first)


def exportable(encoder: nn.Module) -> nn.Module:
    """A copy of `encoder` whose GRUs are `ExportableGRU`s (the same weights)."""
    encoder = copy.deepcopy(encoder)
    for name, module in list(encoder.named_modules()):
        if isinstance(module, nn.GRU):
            parent, _, child = name.rpartition(".")
            encoder.get_submodule(parent).register_module(child, ExportableGRU(module))
    return encoder


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
    from onnxscript.function_libs.torch_lib.ops.core import aten_gru

    path = Path(directory) / ONNX
    encoder = encoder.eval().cpu()
    example = 0.1 * torch.randn(2, round(seconds * encoder.sample_rate), generator=torch.Generator().manual_seed(0))
    # optimize=False: onnxscript's optimizer drops an addition of a constant within 1e-8 of zero, such as the log's
    # epsilon of the CQT (`log(x + 1e-8)` became `log(x)`, -inf on silence).
    try:
        program = torch.onnx.export(exportable(encoder), (example,), input_names=["wave"], output_names=["frames"],
                                    dynamic_axes={"wave": {0: "batch", 1: "samples"},
                                                  "frames": {0: "batch", 1: "time"}},
                                    dynamo=True, optimize=False, opset_version=OPSET, verbose=False,
                                    custom_translation_table={torch.ops.ssl_mir.gru.default: aten_gru})
    except Exception as err:  # noqa: BLE001 (torch.export, decomposition and translation each raise their own)
        raise ValueError(f"{type(encoder).__name__} cannot be exported to ONNX: {failing_operator(err)} has no ONNX "
                         f"translation") from err
    model = program.model_proto
    onnx.helper.set_model_props(model, {"ssl_mir.encoder": json.dumps(config or {}, default=str)})
    write_atomic(path, lambda tmp: onnx.save_model(model, str(tmp)))
    return path
