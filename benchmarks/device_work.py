"""Counting what code asks of an accelerator without one: the kernels it would launch (operators on "meta"
tensors, which hold shapes but no values) and the values it reads back to the host (each a wait for the device)."""

from __future__ import annotations

import collections
import traceback

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
OURS = "/ssl_mir/"

# Operators that hand a value to the host, or whose output's size depends on values (the host must learn it).
READS = {aten._local_scalar_dense.default, aten.nonzero.default, aten.masked_select.default,
         aten.repeat_interleave.Tensor, aten._unique2.default, aten.unique_dim.default,
         aten.unique_consecutive.default}
BOOLEAN_INDEXING = {aten.index.Tensor, aten.index_put.default, aten.index_put_.default}


class CountKernels(TorchDispatchMode):
    """Counts operators on "meta" tensors (device kernels) and host → device copies with and without waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[str] = collections.Counter()
        self.last = None  # the operator dispatched last

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204 (torch's signature)
        kwargs = kwargs or {}
        self.last = func
        out = func(*args, **kwargs)
        tensors = [t for t in (*args, *kwargs.values(), out) if isinstance(t, torch.Tensor)]
        if any(t.device.type == "meta" for t in tensors):
            self.counts["device views (no kernel)" if func.is_view else "device kernels"] += 1
            host_input = any(t.device.type == "cpu" for t in args if isinstance(t, torch.Tensor))
            if func in (aten._to_copy.default, aten.copy_.default) and host_input:
                waits = not (kwargs.get("non_blocking") or (len(args) > 2 and args[2]))
                self.counts["copies to the device, waiting (syncs)" if waits else "copies to the device"] += 1
        else:
            self.counts["host operators"] += 1
        return out


class ReadBacks(TorchDispatchMode):
    """Counts, by place, the operators that would read a value back if the tensors were on an accelerator: `.item()`,
    `bool()`, selection by a boolean mask, `nonzero`… Use it where every tensor stands for a device tensor (a model
    step on the CPU), since host-side ones count too. The place is the innermost frame whose file's path holds
    `within` (only such reads are counted), else the innermost in ssl_mir, else the innermost of all."""

    def __init__(self, within: str | None = None) -> None:
        super().__init__()
        self.within = within
        self.places: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204 (torch's signature)
        reads = func in READS or (func in BOOLEAN_INDEXING and any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1]))
        if reads:
            stack = traceback.extract_stack()[:-1]
            inside = [f for f in stack if self.within in f.filename] if self.within else stack
            if inside:
                frame = ([f for f in inside if OURS in f.filename] or inside)[-1]
                self.places[f"{func.__name__} at {frame.filename.split(OURS)[-1]}:{frame.lineno} {frame.name}"] += 1
        return func(*args, **(kwargs or {}))
