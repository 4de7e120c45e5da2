import torch

from ssl_mir.data.tasks import Task
from ssl_mir.evaluation.embeddings import ChunkEmbeddings
from ssl_mir.evaluation.probe import ProbeConfig, fit_linear_probe


def _split(n_clips: int, centers: torch.Tensor, g: torch.Generator) -> tuple[ChunkEmbeddings, torch.Tensor]:
    labels = torch.arange(n_clips) % len(centers)
    clip = torch.arange(n_clips).repeat_interleave(3)  # 3 chunks per clip
    x = centers[labels[clip]] + torch.randn(len(clip), centers.shape[1], generator=g)
    return ChunkEmbeddings(x, clip), labels


def test_linear_probe_beats_chance_on_a_separable_task() -> None:
    g = torch.Generator().manual_seed(0)
    centers = 3.0 * torch.randn(4, 16, generator=g)
    splits = {s: _split(n, centers, g) for s, n in [("train", 80), ("valid", 20), ("test", 40)]}
    task = Task("y", "multiclass", ("a", "b", "c", "d"))
    scores = fit_linear_probe(task, {s: e for s, (e, _) in splits.items()}, {s: y for s, (_, y) in splits.items()},
                              ProbeConfig(max_epochs=30), accelerator="cpu")
    assert scores["accuracy"] > 0.9  # chance: 0.25


def test_linear_probe_stays_near_chance_on_noise() -> None:
    g = torch.Generator().manual_seed(0)
    splits = {s: _split(n, torch.zeros(4, 16), g) for s, n in [("train", 80), ("valid", 20), ("test", 200)]}
    task = Task("y", "multiclass", ("a", "b", "c", "d"))
    scores = fit_linear_probe(task, {s: e for s, (e, _) in splits.items()}, {s: y for s, (_, y) in splits.items()},
                              ProbeConfig(max_epochs=30), accelerator="cpu")
    assert scores["accuracy"] < 0.45
