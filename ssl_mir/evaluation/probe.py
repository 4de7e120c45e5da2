"""Probes on frozen chunk embeddings pooled over time, with clip-level scores: linear, MLP or k-NN.

The linear evaluation protocol of SimCLR (Chen et al. 2020) as used for music by CLMR (Spijkervet & Burgoyne 2021):
the encoder is frozen, embeddings are standardised with training statistics, and one linear layer (or MARBLE's MLP)
is trained on them, selected on the validation split (see ProbeConfig). Chunk outputs are averaged per clip before
scoring. Layer-wise, a probe reads one hidden state, or a softmax-weighted sum of all of them whose weights it learns
(MARBLE, Yuan et al. 2023; SUPERB, Yang et al. 2021).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler

from ssl_mir.data.tasks import Task
from ssl_mir.encoders.base import Pooling
from ssl_mir.evaluation.embeddings import ChunkEmbeddings, Layer
from ssl_mir.evaluation.metrics import PRIMARY_METRIC, Aggregation, ClipEvaluator, ClipScoring


MIN_STEPS_PER_EPOCH = 10


@dataclass
class ProbeConfig:
    """Hyper-parameters of the linear probe.

    The protocol: embeddings standardised with training statistics; Adam; the learning rate divided by 10 when the
    validation metric stalls for `patience // 2` epochs (ReduceLROnPlateau); early stopping after `patience` epochs
    without improvement, keeping the best validation epoch's weights (as in MARBLE, Yuan et al. 2023, and EVAR,
    Niizumi et al. 2022). The validation metric is accuracy, ROC-AUC or R² by task kind.

    Args:
        kind: "linear" (CLMR), "mlp" (one hidden layer with dropout, MARBLE) or "knn" (cosine k nearest neighbours,
            no training).
        hidden_dim: hidden units of the MLP probe (MARBLE: 512).
        dropout: dropout of the MLP probe.
        k: neighbours of the k-NN probe.
        max_epochs: at most this many passes over the training embeddings.
        batch_size: embeddings per step.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        patience: epochs without validation improvement before stopping.
        aggregation: chunk outputs averaged per clip as "logits" (MARBLE) or "probs" (CLMR).
        pooling: how each chunk's frames are summarised over time, the same for every encoder: "mean", "mean_std"
            (mean and standard deviation, as MFCC statistics do; the default, which measured best on the pieces
            corpus, benchmarks/QUALITY.md) or "max" for every layer; "encoder" keeps each encoder's own pooling of
            its output (the mean for most, a learnt aggregator for some families, mean and std for MFCC) and the
            mean for other layers, as before.
        layers: "output" probes the encoder's embedding; "each" probes every hidden state on its own; "weighted"
            probes a learnt softmax-weighted sum of all hidden states (MARBLE; needs equal layer widths); "best"
            probes every hidden state and reports, under the name "best", the test metrics of the one whose probe
            scored best on the validation split (chosen per task, fraction and seed).
        seeds: one probe per seed (initialisation and shuffling; for `random:` encoders also their weights);
            reports give mean ± std over seeds.
    """

    kind: Literal["linear", "mlp", "knn"] = "linear"
    hidden_dim: int = 512
    dropout: float = 0.2
    k: int = 20
    max_epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 20
    aggregation: Aggregation = "logits"
    pooling: Pooling = "mean_std"
    layers: Literal["output", "each", "weighted", "best"] = "output"
    seeds: list[int] = field(default_factory=lambda: [0])

    def __post_init__(self) -> None:
        if self.kind == "knn" and self.layers in ("weighted", "best"):
            raise ValueError(f"probe.kind knn learns nothing, so it has no validation score to select or weigh "
                             f"layers with (probe.layers: {self.layers}); use probe.layers: each")

    def probed_layers(self, n_layers: int) -> list[Layer]:
        """The layers one sweep probes, given how many hidden states the encoder has."""
        return {"output": [-1], "each": list(range(n_layers)), "weighted": ["weighted"],
                "best": list(range(n_layers))}[self.layers]


def layer_name(layer: Layer, n_layers: int) -> str:
    """How results name a probed layer: "output", "weighted" or the hidden-state index."""
    return "output" if layer in (-1, n_layers - 1) else str(layer)


class LayerWeights(nn.Module):
    """A learnt softmax-weighted sum over stacked layers: (B, L, D) → (B, D)."""

    def __init__(self, n_layers: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("l,bld->bd", self.logits.softmax(0), x)  # (B, D)


class EmbeddingSet(Dataset):
    """(x (D,) or (L, D), target, clip, chunk) items over precomputed embeddings."""

    def __init__(self, x: torch.Tensor, target: torch.Tensor, clip: torch.Tensor) -> None:
        self.x, self.target, self.clip = x, target, clip

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "target": self.target[i], "clip": self.clip[i], "chunk": i}


class Probe(ClipScoring, pl.LightningModule):
    """A linear layer (hidden_dim 0) or a one-hidden-layer MLP on embeddings (B, D), or with `n_layers` on a learnt
    weighted sum of stacked layers (B, L, D); logs `train/loss`, `val/<metric>` and `test/<metric>` at clip level."""

    def __init__(self, in_dim: int, task: Task, lr: float = 1e-3, weight_decay: float = 0.0, patience: int = 20,
                 aggregation: Aggregation = "logits", hidden_dim: int = 0, dropout: float = 0.0,
                 n_layers: int = 0) -> None:
        super().__init__()
        self.task = task
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.monitor = f"val/{PRIMARY_METRIC[task.kind]}"
        if hidden_dim:
            self.head: nn.Module = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                                                 nn.Linear(hidden_dim, task.num_outputs))
        else:
            self.head = nn.Linear(in_dim, task.num_outputs)
        if n_layers:
            self.head = nn.Sequential(LayerWeights(n_layers), self.head)
        self.evaluator = ClipEvaluator(task, aggregation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)  # (B, C)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.task.loss(self(batch["x"]), batch["target"])
        self.log("train/loss", loss, batch_size=len(batch["x"]))
        return loss

    def chunk_outputs(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return self(batch["x"]), batch["target"], batch["clip"], batch["chunk"]

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.1,
                                                             patience=max(1, self.patience // 2))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": plateau, "monitor": self.monitor}}


class BestWeights(pl.Callback):
    """Keep, in memory, the weights of the epoch with the best monitored value, and restore them when fit ends."""

    def __init__(self, monitor: str) -> None:
        self.monitor, self.best, self.state = monitor, -float("inf"), None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = float(trainer.callback_metrics[self.monitor])
        if value >= self.best:  # on ties the later, longer-trained epoch
            self.best = value
            self.state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)


def standardiser(train_x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std of the training embeddings (N, D) or (N, L, D): every probe standardises with
    these."""
    return train_x.mean(0), train_x.std(0).clamp_min(1e-6)


@torch.no_grad()
def knn_outputs(task: Task, train_x: torch.Tensor, train_y: torch.Tensor, query: torch.Tensor, k: int) -> torch.Tensor:
    """k-NN on cosine similarity, as outputs in the probes' output space: vote shares (multiclass), neighbour tag
    rates (multilabel) or the neighbours' mean standardised value (regression). Returns (Q, num_outputs)."""
    sims = F.normalize(query, dim=1) @ F.normalize(train_x, dim=1).T  # (Q, N)
    neighbours = train_y[sims.topk(min(k, len(train_x)), dim=1).indices]  # (Q, k) or (Q, k, C)
    if task.kind == "multiclass":
        return F.one_hot(neighbours, task.num_outputs).float().mean(1)
    if task.kind == "multilabel":
        return neighbours.float().mean(1)
    return ((neighbours.float() - task.mean) / task.std).mean(1, keepdim=True)


class ProbeFit(NamedTuple):
    """One probe's test scores, the best validation score it reached (nan for k-NN) and its test predictions per
    clip with their targets ((K, C) and (K,) or (K, C)), for figures."""

    test: dict[str, float]
    best_val: float
    outputs: tuple[torch.Tensor, torch.Tensor]


def fit_probe(
    task: Task,
    embeddings: dict[str, ChunkEmbeddings],
    clip_targets: dict[str, torch.Tensor],
    config: ProbeConfig = ProbeConfig(),
    accelerator: str = "auto",
    seed: int = 0,
    layer: Layer = -1,
) -> dict[str, float]:
    """Train a probe on the 'train' embeddings, select on 'valid', and score 'test' at clip level (k-NN: no
    training or selection).

    Args:
        task: what the targets mean.
        embeddings: split → chunk embeddings ('train', 'valid', 'test').
        clip_targets: split → per-clip targets, indexed by the chunks' clip ids.
        config: probe hyper-parameters.
        accelerator: Lightning accelerator for the probe.
        seed: initialisation and shuffling of this probe.
        layer: which hidden state to probe, or "weighted" for a learnt weighted sum of all (each standardised).

    Returns:
        test metrics, keyed by metric name.
    """
    return fit_and_select(task, embeddings, clip_targets, config, accelerator, seed, layer).test


def probe_layers(task: Task, embeddings: dict[str, ChunkEmbeddings], clip_targets: dict[str, torch.Tensor],
                 config: ProbeConfig, accelerator: str = "auto", seed: int = 0) -> dict[str, dict[str, float]]:
    """Probe every layer `config.layers` names: layer name → test metrics; for "best", only the layer whose probe
    scored best on the validation split, named "best"."""
    return {name: fit.test for name, fit in probe_fits(task, embeddings, clip_targets, config, accelerator,
                                                       seed).items()}


def probe_fits(task: Task, embeddings: dict[str, ChunkEmbeddings], clip_targets: dict[str, torch.Tensor],
               config: ProbeConfig, accelerator: str = "auto", seed: int = 0) -> dict[str, ProbeFit]:
    """`probe_layers` with each layer's whole `ProbeFit`."""
    n_layers = len(embeddings["train"].layers)
    fits = {layer_name(layer, n_layers): fit_and_select(task, embeddings, clip_targets, config, accelerator, seed, layer)
            for layer in config.probed_layers(n_layers)}
    if config.layers == "best":
        return {"best": max(fits.values(), key=lambda fit: fit.best_val)}
    return fits


def fit_and_select(task: Task, embeddings: dict[str, ChunkEmbeddings], clip_targets: dict[str, torch.Tensor],
                   config: ProbeConfig = ProbeConfig(), accelerator: str = "auto", seed: int = 0,
                   layer: Layer = -1) -> ProbeFit:
    """`fit_probe`, also returning the best validation score and the test predictions (`ProbeFit`)."""
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # one probe per task: keep the console quiet
    pl.seed_everything(seed, verbose=False)
    features = {s: e.features(layer) for s, e in embeddings.items()}  # (N, D) or (N, L, D)
    train_x = features["train"]
    mean, std = standardiser(train_x)

    def loader(split: str, for_training: bool) -> DataLoader:
        clip = embeddings[split].clip
        data = EmbeddingSet((features[split] - mean) / std, clip_targets[split][clip], clip)
        if not for_training:
            return DataLoader(data, batch_size=1024)
        # An epoch is at least MIN_STEPS_PER_EPOCH steps, so that patience means the same on tiny label fractions.
        sampler = RandomSampler(data, num_samples=max(len(data), config.batch_size * MIN_STEPS_PER_EPOCH))
        return DataLoader(data, batch_size=config.batch_size, sampler=sampler)

    if config.kind == "knn":
        train_targets = clip_targets["train"][embeddings["train"].clip]
        test = embeddings["test"]
        evaluator = ClipEvaluator(task, sync=False)  # vote shares are averaged as they are
        evaluator.update(knn_outputs(task, (train_x - mean) / std, train_targets, (features["test"] - mean) / std,
                                     config.k), clip_targets["test"][test.clip], test.clip)
        return ProbeFit(evaluator.compute(), float("nan"), evaluator.clip_outputs)
    hidden = config.hidden_dim if config.kind == "mlp" else 0
    n_layers = train_x.shape[1] if train_x.dim() == 3 else 0
    probe = Probe(train_x.shape[-1], task, config.lr, config.weight_decay, config.patience, config.aggregation, hidden,
                  config.dropout, n_layers)
    stop = EarlyStopping(probe.monitor, mode="max", patience=config.patience)
    best = BestWeights(probe.monitor)
    trainer = pl.Trainer(max_epochs=config.max_epochs, accelerator=accelerator, devices=1, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, callbacks=[best, stop])
    trainer.fit(probe, loader("train", True), loader("valid", False))
    scores = trainer.test(probe, loader("test", False), verbose=False)[0]
    return ProbeFit({k.removeprefix("test/"): float(v) for k, v in scores.items()}, best.best,
                    probe.evaluator.clip_outputs)
