"""Online probe: watch what pre-training learns, every few epochs, without touching the run.

As in M2D (Niizumi et al. 2023) and solo-learn (da Costa et al. 2022): a probe on the detached embeddings of the
encoder being trained, fitted on the labeled 'train' split and scored on 'valid', logged as
`probe/<task>/<metric>`. The probe runs with the encoder in eval() mode and inside a forked RNG, so batch-norm
statistics and the run's random draws are exactly what they would have been without it.
"""

from __future__ import annotations

from typing import Literal

import pytorch_lightning as pl
import torch
from torch import nn

from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.data.tasks import Task, TaskKind
from ssl_mir.encoders.base import Pooling
from ssl_mir.evaluation.embeddings import extract
from ssl_mir.evaluation.metrics import ClipEvaluator
from ssl_mir.evaluation.probe import knn_outputs, standardiser


def quick_linear_probe(task: Task, x: torch.Tensor, y: torch.Tensor, steps: int = 300, lr: float = 0.01) -> nn.Module:
    """A linear layer fitted full-batch with Adam on standardised embeddings (no Trainer, no data loader)."""
    head = nn.Linear(x.shape[1], task.num_outputs)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad()
            task.loss(head(x), y).backward()
            optimizer.step()
    return head.eval()


class OnlineProbe(pl.Callback):
    """Every `every_n_epochs`, probe the encoder on a labeled manifest and log `probe/<task>/<metric>`.

    Args:
        manifest: labeled CSV/JSONL with train and valid splits (and test, which is not used here).
        tasks: task name → kind.
        every_n_epochs: probe after every this many training epochs.
        kind: "linear" (full-batch logistic/linear regression) or "knn" (cosine, k neighbours).
        chunk_samples: samples per chunk at the encoder's rate.
        max_chunks: chunks per clip (None: all).
        k: neighbours of the k-NN probe.
        seed: initialisation of the linear probe.
        pooling: frames over time, as `ProbeConfig.pooling`.
    """

    def __init__(self, manifest: str, tasks: dict[str, TaskKind], every_n_epochs: int = 5,
                 kind: Literal["linear", "knn"] = "linear", chunk_samples: int = 32768, max_chunks: int | None = 2,
                 k: int = 20, seed: int = 0, pooling: Pooling = "mean_std") -> None:
        self.manifest, self.tasks, self.pooling = manifest, tasks, pooling
        self.every_n_epochs, self.kind, self.k, self.seed = every_n_epochs, kind, k, seed
        self.chunk_samples, self.max_chunks = chunk_samples, max_chunks
        self.data: LabeledDataModule | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.data = LabeledDataModule(self.manifest, self.tasks, sample_rate=pl_module.encoder.sample_rate,
                                      chunk_samples=self.chunk_samples, max_chunks=self.max_chunks, num_workers=0)
        self.data.targets  # noqa: B018 (fail at set-up, not after the first epochs, on bad labels or files)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_epochs or not trainer.is_global_zero or self.data is None:
            return
        encoder, was_training = pl_module.encoder, pl_module.encoder.training
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(self.seed)
            metrics = self.probe(encoder, pl_module.device)
        encoder.train(was_training)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    def probe(self, encoder: nn.Module, device: torch.device) -> dict[str, float]:
        assert self.data is not None
        emb = {s: extract(encoder, self.data.chunk_dataset(s), device=device, pooling=self.pooling) for s in ("train", "valid")}
        mean, std = standardiser(emb["train"].x)
        x = {s: (e.x - mean) / std for s, e in emb.items()}
        metrics = {}
        for name, task in self.data.tasks.items():
            y = {s: self.data.split_targets(s)[name][emb[s].clip] for s in emb}
            if self.kind == "knn":
                output = knn_outputs(task, x["train"], y["train"], x["valid"], self.k)
            else:
                output = quick_linear_probe(task, x["train"], y["train"])(x["valid"])
            evaluator = ClipEvaluator(task, sync=False)  # rank zero alone
            evaluator.update(output, y["valid"], emb["valid"].clip)
            metrics.update({f"probe/{name}/{k}": v for k, v in evaluator.compute().items()})
        return metrics
