"""The batched backend: a parsed transform list applied to a whole batch on the training device.

Which clips a transform touches (probability p) and their parameters are drawn on the CPU from torch's generator,
so a seed gives the same draws on CPU and CUDA; noise is generated on the batch's device. Each transform runs once
per batch on the rows it applies to. This is where BYOL-A v2 and solo-learn (DALI) moved augmentation, so that the
CPU does not starve the accelerator.

Under DDP every rank draws for the global batch (its rows and every other rank's) and applies its own slice: ranks
seeded alike consume the generator alike and never repeat each other's draws. The noise a transform generates
(Gaussian noise, room responses) comes from generators forked and re-seeded per rank for that call, so it differs
between ranks too, and the ranks' generators stay in step whatever each rank applies.

Two paths apply the same draws. On a CPU a transform runs on the rows it applies to only (gathered, in chunks that
stay in cache, and scattered back), which saves arithmetic. On an accelerator it runs on every row and
`torch.where` keeps the rows it applies to (`Transform.apply_masked`): more arithmetic, but no gather or scatter,
shapes that do not depend on the draws, and nothing read back to the host or copied to the device with a wait: on an
accelerator the chain's cost is the host launching kernels and waiting for the device, not its arithmetic
(benchmarks/RESULTS.md). Both paths give the same output for the same seed, except for the noise that noise and
reverb generate: the accelerator's path generates it for every row.
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_mir.augment.transform import Transform


class BatchAugment(nn.Module):
    """(N, S) → (N, S') waveforms, S' = S unless the list crops.

    Args:
        transforms: parsed transforms (`augment.vocabulary.parse`).
        sample_rate: the waveforms' rate.
        masked: apply each transform to every row and keep the chosen ones (`Transform.apply_masked`) instead of
            only to the chosen rows; None (the default) chooses it on accelerators and not on a CPU.
    """

    def __init__(self, transforms: list[Transform], sample_rate: int, masked: bool | None = None) -> None:
        super().__init__()
        self.transforms = transforms
        self.sample_rate = sample_rate
        self.masked = masked

    @torch.no_grad()
    def forward(self, x: torch.Tensor, shard: tuple[int, int] = (0, 1)) -> torch.Tensor:
        """Augment this rank's rows. `shard` is (rank, world size): x holds global rows rank·N … rank·N + N - 1."""
        masked = x.device.type != "cpu" if self.masked is None else self.masked
        x = x.clone()  # the transforms write into their rows in place
        for transform in self.transforms:
            x = self.apply_some(transform, x, shard, masked)
        return x

    def apply_some(self, transform: Transform, x: torch.Tensor, shard: tuple[int, int], masked: bool) -> torch.Tensor:
        """Draw for each global row whether `transform` applies, and its parameters; apply it to this rank's rows.
        (N, S) → (N, S')."""
        rank, world = shard
        first = rank * len(x)
        rows = torch.arange(len(x) * world)[torch.rand(len(x) * world) < transform.p]
        if len(rows) == 0:
            return x
        params = transform.draw(len(rows))
        noise_seed = int(torch.randint(2**62, (1,))) + rank  # drawn alike on every rank, then made the rank's own
        mine = (rows >= first) & (rows < first + len(x))  # rows are sorted: this rank's come in order
        if not bool(mine.any()):
            return x
        local = {k: v[mine] for k, v in params.items()}
        index = rows[mine] - first  # (R,) on the host
        with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
            torch.manual_seed(noise_seed)
            if not masked:
                return transform.apply_to_rows(x, index.to(x.device), local, self.sample_rate)
            mask = torch.zeros(len(x), dtype=torch.bool).index_fill_(0, index, True)  # (N,)
            own = (mask.cumsum(0) - 1).clamp_(min=0)  # a row's own draws; an unchosen row the chosen row's before it
            return transform.apply_masked(x, mask, {k: v[own] for k, v in local.items()}, self.sample_rate)
