"""Recurrent layers for the ONNX export: torch.export cannot decompose `aten.gru` or `aten.lstm` over a dynamic time
axis (the GRU's decomposition fails; the LSTM's is unrolled at a cost of half a minute per layer). For the export each
`nn.GRU` and `nn.LSTM` calls the same kernel through a custom operator, `ssl_mir::gru` or `ssl_mir::lstm`, whose
output shapes are declared, and onnxscript's own translations of `aten::gru.input` and `aten::lstm.input` turn them
into ONNX GRU and LSTM nodes (`TRANSLATIONS`)."""

from __future__ import annotations

import copy

import torch
from onnxscript.function_libs.torch_lib.ops.core import aten_gru, aten_lstm
from torch import Tensor, nn


@torch.library.custom_op("ssl_mir::gru", mutates_args=())
def gru(input: Tensor, hx: Tensor, params: list[Tensor], has_biases: bool, num_layers: int, dropout: float,
        train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor]:
    """`torch.gru` (aten::gru.input) as an operator that torch.export keeps whole."""
    out, h = torch.gru(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    return out.clone(), h.clone()  # a custom operator's outputs may not alias anything


@torch.library.custom_op("ssl_mir::lstm", mutates_args=())
def lstm(input: Tensor, hx: list[Tensor], params: list[Tensor], has_biases: bool, num_layers: int, dropout: float,
         train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor, Tensor]:
    """`torch.lstm` (aten::lstm.input) as an operator that torch.export keeps whole."""
    out, h, c = torch.lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    return out.clone(), h.clone(), c.clone()


def _output(input: Tensor, h: Tensor, bidirectional: bool) -> Tensor:
    return input.new_empty((*input.shape[:-1], h.shape[-1] * (2 if bidirectional else 1)))  # (B, T, H·dirs)


@gru.register_fake
def _gru_shapes(input: Tensor, hx: Tensor, params: list[Tensor], has_biases: bool, num_layers: int, dropout: float,
                train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor]:
    return _output(input, hx, bidirectional), hx.new_empty(hx.shape)


@lstm.register_fake
def _lstm_shapes(input: Tensor, hx: list[Tensor], params: list[Tensor], has_biases: bool, num_layers: int,
                 dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> tuple[Tensor, Tensor, Tensor]:
    return _output(input, hx[0], bidirectional), hx[0].new_empty(hx[0].shape), hx[1].new_empty(hx[1].shape)


TRANSLATIONS = {torch.ops.ssl_mir.gru.default: aten_gru, torch.ops.ssl_mir.lstm.default: aten_lstm}


class ExportableRNN(nn.Module):
    """An `nn.GRU` or `nn.LSTM` (its own parameters) called through its custom operator from a zero initial state,
    in eval mode (no dropout): (output, h_n) or (output, (h_n, c_n)), as the module gives."""

    def __init__(self, rnn: nn.GRU | nn.LSTM) -> None:
        super().__init__()
        if isinstance(rnn, nn.LSTM) and rnn.proj_size:
            raise ValueError("an LSTM with proj_size cannot be exported to ONNX here")
        self.rnn = rnn

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        r = self.rnn
        batch = x.shape[0] if r.batch_first else x.shape[1]
        zeros = x.new_zeros(r.num_layers * (2 if r.bidirectional else 1), batch, r.hidden_size)  # (L·dirs, B, H)
        args = (list(r._flat_weights), r.bias, r.num_layers, 0.0, False, r.bidirectional, r.batch_first)
        if isinstance(r, nn.LSTM):
            out, h, c = torch.ops.ssl_mir.lstm(x, [zeros, zeros], *args)
            return out, (h, c)
        return torch.ops.ssl_mir.gru(x, zeros, *args)


def exportable(encoder: nn.Module) -> nn.Module:
    """A copy of `encoder` whose GRUs and LSTMs are `ExportableRNN`s (the same weights)."""
    encoder = copy.deepcopy(encoder)
    for name, module in list(encoder.named_modules()):
        if isinstance(module, (nn.GRU, nn.LSTM)):
            parent, _, child = name.rpartition(".")
            encoder.get_submodule(parent).register_module(child, ExportableRNN(module))
    return encoder
