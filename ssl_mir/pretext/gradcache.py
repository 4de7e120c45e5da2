"""Gradient cache: the embeddings of a large batch, with the activation memory of one micro-batch.

Gao, Zhang, Han & Callan, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup" (RepL4NLP
2021). The encoder runs over the batch micro-batch by micro-batch without keeping activations; the loss over the
whole batch's embeddings gives their gradients; then each micro-batch is encoded again, with the same random draws,
and back-propagated with its slice of those gradients. The loss and the gradients are those of the whole batch, and
a contrastive loss keeps every negative of it, which gradient accumulation would not.

BatchNorm normalises each micro-batch with its own statistics (as under DDP without SyncBatchNorm), and its running
statistics are updated once per micro-batch: the second pass restores them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn


@contextmanager
def kept_buffers(module: nn.Module) -> Iterator[None]:
    """The module's buffers (BatchNorm's running statistics) as they were before the block."""
    saved = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


class _CachedEmbed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, embed: Callable, module: nn.Module, micro_batch: int, x: torch.Tensor,  # type: ignore[override]
                *params: torch.Tensor) -> torch.Tensor:
        ctx.embed, ctx.module, ctx.micro_batch = embed, module, micro_batch
        kind = x.device.type
        ctx.autocast = (kind, torch.is_autocast_enabled(kind), torch.get_autocast_dtype(kind))
        ctx.save_for_backward(x)
        ctx.rng = []
        outputs = []
        with torch.no_grad():
            for part in x.split(micro_batch):
                ctx.rng.append(_rng_state(x.device))
                outputs.append(embed(part))
        return torch.cat(outputs)  # (B, D)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        params = [p for p in ctx.module.parameters() if p.requires_grad]
        total = [torch.zeros_like(p) for p in params]
        for part, g, state in zip(x.split(ctx.micro_batch), grad.split(ctx.micro_batch), ctx.rng):
            kind, enabled, dtype = ctx.autocast  # the second pass computes as the first did
            with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []), \
                    kept_buffers(ctx.module), torch.enable_grad(), torch.autocast(kind, dtype, enabled):
                _set_rng_state(state, x.device)
                out = ctx.embed(part.detach())
                grads = torch.autograd.grad(out, params, g, allow_unused=True)
            for t, gp in zip(total, grads):
                if gp is not None:
                    t.add_(gp)
        return (None, None, None, None, *total)


def cached_embed(embed: Callable[[torch.Tensor], torch.Tensor], module: nn.Module, x: torch.Tensor,
                 micro_batch: int) -> torch.Tensor:
    """`embed(x)` (B, ...) → (B, D) through the gradient cache: activations of `micro_batch` rows at a time.

    Args:
        embed: the function of the module's parameters to cache (e.g. `encoder.embed`).
        module: whose trainable parameters get the gradients and whose buffers are kept through the second pass.
        x: the whole batch.
        micro_batch: rows per pass.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    return _CachedEmbed.apply(embed, module, micro_batch, x, *params)


def _rng_state(device: torch.device) -> tuple:
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def _set_rng_state(state: tuple, device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)
