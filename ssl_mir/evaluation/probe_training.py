"""The probe's training loop, in plain PyTorch over embeddings held in memory: a probe step is a small matrix product,
and a Lightning Trainer around it cost about ten times the step itself (3 ms of hooks and logging per step;
benchmarks/RESULTS.md, "Cached probe sweep"). The protocol is the one `ProbeConfig` describes, as Lightning ran it:
Adam; epochs of at least `MIN_STEPS_PER_EPOCH` batches drawn as torch's RandomSampler draws them; after each epoch
the clip-level validation metric, the best epoch's weights kept (ties to the later epoch), early stopping after
`patience` epochs without a strict improvement (or at a non-finite metric), and ReduceLROnPlateau stepped on it."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ssl_mir.data.tasks import Task
from ssl_mir.evaluation.metrics import PRIMARY_METRIC, Aggregation, ClipEvaluator

MIN_STEPS_PER_EPOCH = 10
EVAL_BATCH = 4096


class Split(NamedTuple):
    """One split's standardised chunk embeddings (N, D) or (N, L, D), their targets and clip ids (N,)."""

    x: torch.Tensor
    target: torch.Tensor
    clip: torch.Tensor


def epoch_order(n: int, batch_size: int) -> torch.Tensor:
    """The chunk indices of one epoch: whole permutations of the N chunks, then part of one, until the epoch holds
    at least MIN_STEPS_PER_EPOCH batches (so that patience means the same on tiny label fractions)."""
    total = max(n, batch_size * MIN_STEPS_PER_EPOCH)
    return torch.cat([torch.randperm(n) for _ in range(math.ceil(total / n))])[:total]


@torch.no_grad()
def clip_scores(probe: nn.Module, task: Task, split: Split,
                aggregation: Aggregation) -> tuple[dict[str, float], tuple[torch.Tensor, torch.Tensor]]:
    """The probe's clip-level scores of a split, and its clip predictions with their targets."""
    probe.eval()
    evaluator = ClipEvaluator(task, aggregation, sync=False)
    for start in range(0, len(split.x), EVAL_BATCH):
        part = slice(start, start + EVAL_BATCH)
        evaluator.update(probe(split.x[part]), split.target[part], split.clip[part],
                         torch.arange(start, start + len(split.x[part]), device=split.x.device))
    return evaluator.compute(), evaluator.clip_outputs


def train_probe(probe: nn.Module, task: Task, train: Split, valid: Split, lr: float, weight_decay: float,
                batch_size: int, max_epochs: int, patience: int, aggregation: Aggregation) -> float:
    """Train `probe` in place, leave it with the best validation epoch's weights, and return that epoch's metric."""
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.1,
                                                         patience=max(1, patience // 2))
    metric = PRIMARY_METRIC[task.kind]
    best, state, waited = -math.inf, None, 0
    for _ in range(max_epochs):
        probe.train()
        order = epoch_order(len(train.x), batch_size).to(train.x.device)
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            loss = task.loss(probe(train.x[batch]), train.target[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        value = clip_scores(probe, task, valid, aggregation)[0][metric]
        if value >= best:  # on ties the later, longer-trained epoch
            state = {k: v.detach().clone() for k, v in probe.state_dict().items()}
        waited = 0 if value > best else waited + 1
        best = max(best, value)
        plateau.step(value)
        if waited >= patience or not math.isfinite(value):
            break
    if state is not None:
        probe.load_state_dict(state)
    return best
