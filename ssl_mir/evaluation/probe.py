"""Probes on frozen chunk embeddings pooled over time, with clip-level scores: linear, MLP or k-NN.

The linear evaluation protocol of SimCLR (Chen et al. 2020) as used for music by CLMR (Spijkervet & Burgoyne 2021):
the encoder is frozen, embeddings are standardised with training statistics, and one linear layer (or MARBLE's MLP)
is trained on them, selected on the validation split (see ProbeConfig). Chunk outputs are averaged per clip before
scoring. Layer-wise, a probe reads one hidden state, or a softmax-weighted sum of all of them whose weights it learns
(MARBLE, Yuan et al. 2023; SUPERB, Yang et al. 2021).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from ssl_mir.data.tasks import Task
from ssl_mir.encoders.base import Pooling
from ssl_mir.evaluation.embeddings import ChunkEmbeddings, Layer
from ssl_mir.evaluation.metrics import Aggregation, ClipEvaluator
from ssl_mir.evaluation.probe_training import Split, clip_scores, train_probe


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


class Probe(nn.Module):
    """A linear layer (hidden_dim 0) or a one-hidden-layer MLP on embeddings (B, D), or with `n_layers` on a learnt
    weighted sum of stacked layers (B, L, D)."""

    def __init__(self, in_dim: int, num_outputs: int, hidden_dim: int = 0, dropout: float = 0.0,
                 n_layers: int = 0) -> None:
        super().__init__()
        if hidden_dim:
            self.head: nn.Module = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
                                                 nn.Linear(hidden_dim, num_outputs))
        else:
            self.head = nn.Linear(in_dim, num_outputs)
        if n_layers:
            self.head = nn.Sequential(LayerWeights(n_layers), self.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)  # (B, C)


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
    fits = {layer_name(layer, n_layers):
            fit_and_select(task, embeddings, clip_targets, config, accelerator, seed, layer)
            for layer in config.probed_layers(n_layers)}
    if config.layers == "best":
        return {"best": max(fits.values(), key=lambda fit: fit.best_val)}
    return fits


def fit_and_select(task: Task, embeddings: dict[str, ChunkEmbeddings], clip_targets: dict[str, torch.Tensor],
                   config: ProbeConfig = ProbeConfig(), accelerator: str = "auto", seed: int = 0,
                   layer: Layer = -1) -> ProbeFit:
    """`fit_probe`, also returning the best validation score and the test predictions (`ProbeFit`)."""
    pl.seed_everything(seed, verbose=False)
    device = torch.device("cuda" if accelerator in ("gpu", "cuda") or (accelerator == "auto" and
                                                                        torch.cuda.is_available()) else "cpu")
    features = {s: e.features(layer) for s, e in embeddings.items()}  # (N, D) or (N, L, D)
    train_x = features["train"]
    mean, std = standardiser(train_x)
    splits = {s: Split(((features[s] - mean) / std).to(device), clip_targets[s][e.clip].to(device), e.clip.to(device))
              for s, e in embeddings.items()}
    if config.kind == "knn":
        test = splits["test"]
        evaluator = ClipEvaluator(task, sync=False)  # vote shares are averaged as they are
        evaluator.update(knn_outputs(task, splits["train"].x, splits["train"].target, test.x, config.k), test.target,
                         test.clip)
        return ProbeFit(evaluator.compute(), float("nan"), evaluator.clip_outputs)
    hidden = config.hidden_dim if config.kind == "mlp" else 0
    n_layers = train_x.shape[1] if train_x.dim() == 3 else 0
    probe = Probe(train_x.shape[-1], task.num_outputs, hidden, config.dropout, n_layers).to(device)
    best = train_probe(probe, task, splits["train"], splits["valid"], config.lr, config.weight_decay,
                       config.batch_size, config.max_epochs, config.patience, config.aggregation)
    scores, outputs = clip_scores(probe, task, splits["test"], config.aggregation)
    return ProbeFit(scores, best, outputs)
