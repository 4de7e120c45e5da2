import pytest
import torch

from ssl_mir.data.tasks import Task
from ssl_mir.evaluation.embeddings import ChunkEmbeddings
from ssl_mir.evaluation.probe import Probe, ProbeConfig, fit_probe, knn_outputs, probe_layers


def _split(n_clips: int, centers: torch.Tensor, g: torch.Generator) -> tuple[ChunkEmbeddings, torch.Tensor]:
    labels = torch.arange(n_clips) % len(centers)
    clip = torch.arange(n_clips).repeat_interleave(3)  # 3 chunks per clip
    x = centers[labels[clip]] + torch.randn(len(clip), centers.shape[1], generator=g)
    return ChunkEmbeddings([x], clip), labels


def test_linear_probe_beats_chance_on_a_separable_task() -> None:
    g = torch.Generator().manual_seed(0)
    centers = 3.0 * torch.randn(4, 16, generator=g)
    splits = {s: _split(n, centers, g) for s, n in [("train", 80), ("valid", 20), ("test", 40)]}
    task = Task("y", "multiclass", ("a", "b", "c", "d"))
    scores = fit_probe(task, {s: e for s, (e, _) in splits.items()}, {s: y for s, (_, y) in splits.items()},
                              ProbeConfig(max_epochs=30), accelerator="cpu")
    assert scores["accuracy"] > 0.9  # chance: 0.25


def test_linear_probe_stays_near_chance_on_noise() -> None:
    g = torch.Generator().manual_seed(0)
    splits = {s: _split(n, torch.zeros(4, 16), g) for s, n in [("train", 80), ("valid", 20), ("test", 200)]}
    task = Task("y", "multiclass", ("a", "b", "c", "d"))
    scores = fit_probe(task, {s: e for s, (e, _) in splits.items()}, {s: y for s, (_, y) in splits.items()},
                              ProbeConfig(max_epochs=30), accelerator="cpu")
    assert scores["accuracy"] < 0.45


def _xor_splits(g: torch.Generator) -> tuple[dict, dict]:
    """Four clusters at (±2, ±2); the label is the sign of x·y: not linearly separable."""
    def split(n: int) -> tuple[ChunkEmbeddings, torch.Tensor]:
        corners = torch.tensor([[2.0, 2.0], [-2.0, -2.0], [2.0, -2.0], [-2.0, 2.0]])
        which = torch.arange(n) % 4
        x = corners[which] + 0.5 * torch.randn(n, 2, generator=g)
        return ChunkEmbeddings([x], torch.arange(n)), (which >= 2).long()

    splits = {s: split(n) for s, n in [("train", 200), ("valid", 40), ("test", 200)]}
    return {s: e for s, (e, _) in splits.items()}, {s: y for s, (_, y) in splits.items()}


def test_mlp_probe_solves_what_a_linear_probe_cannot() -> None:
    embeddings, targets = _xor_splits(torch.Generator().manual_seed(0))
    task = Task("y", "multiclass", ("same", "different"))
    linear = fit_probe(task, embeddings, targets, ProbeConfig(kind="linear", max_epochs=30), accelerator="cpu")
    mlp = fit_probe(task, embeddings, targets, ProbeConfig(kind="mlp", hidden_dim=32, max_epochs=30), accelerator="cpu")
    assert linear["accuracy"] < 0.7 < 0.95 < mlp["accuracy"]


def test_knn_probe_on_separable_and_xor_tasks() -> None:
    embeddings, targets = _xor_splits(torch.Generator().manual_seed(0))
    task = Task("y", "multiclass", ("same", "different"))
    assert fit_probe(task, embeddings, targets, ProbeConfig(kind="knn", k=5), accelerator="cpu")["accuracy"] > 0.95


def test_knn_outputs_for_each_task_kind() -> None:
    train_x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    query = torch.tensor([[1.0, 0.05]])
    votes = knn_outputs(Task("y", "multiclass", ("a", "b")), train_x, torch.tensor([0, 0, 1]), query, k=2)
    torch.testing.assert_close(votes, torch.tensor([[1.0, 0.0]]))
    tags = knn_outputs(Task("t", "multilabel", ("x", "y")), train_x, torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
                       query, k=2)
    torch.testing.assert_close(tags, torch.tensor([[1.0, 0.5]]))
    bpm = knn_outputs(Task("bpm", "regression", mean=100.0, std=10.0), train_x, torch.tensor([110.0, 130.0, 0.0]),
                      query, k=2)
    torch.testing.assert_close(bpm, torch.tensor([[2.0]]))  # mean of standardised 1 and 3


def _middle_layer_informative() -> tuple[dict[str, ChunkEmbeddings], dict[str, torch.Tensor], Task]:
    """Three layers of embeddings, of which only the middle one carries the label, in every split."""
    g = torch.Generator().manual_seed(0)
    centers = 3.0 * torch.randn(4, 16, generator=g)
    splits = {}
    for s, n in [("train", 80), ("valid", 20), ("test", 40)]:
        informative, labels = _split(n, centers, g)
        noise = [torch.randn_like(informative.x) for _ in range(2)]
        splits[s] = (ChunkEmbeddings([noise[0], informative.x, noise[1]], informative.clip), labels)
    embeddings, targets = {s: e for s, (e, _) in splits.items()}, {s: y for s, (_, y) in splits.items()}
    return embeddings, targets, Task("y", "multiclass", ("a", "b", "c", "d"))


def test_weighted_layer_probe_finds_the_informative_layer() -> None:
    """Only the middle layer carries the label: the weighted sum learns to read it."""
    embeddings, targets, task = _middle_layer_informative()
    config = ProbeConfig(max_epochs=30, layers="weighted")
    assert config.probed_layers(3) == ["weighted"]
    weighted = fit_probe(task, embeddings, targets, config, accelerator="cpu", layer="weighted")
    first = fit_probe(task, embeddings, targets, config, accelerator="cpu", layer=0)
    assert first["accuracy"] < 0.5 < 0.9 < weighted["accuracy"]


def test_best_layer_is_chosen_on_the_validation_split() -> None:
    """Only the middle layer carries the label in train and valid: "best" reports its test scores."""
    embeddings, targets, task = _middle_layer_informative()
    each = probe_layers(task, embeddings, targets, ProbeConfig(max_epochs=20, layers="each"), "cpu")
    assert list(each) == ["0", "1", "output"] and each["1"]["accuracy"] > 0.9 > 0.5 > each["0"]["accuracy"]
    best = probe_layers(task, embeddings, targets, ProbeConfig(max_epochs=20, layers="best"), "cpu")
    assert best == {"best": each["1"]}


def test_weighted_sum_needs_equal_widths_and_a_trained_probe() -> None:
    embeddings = ChunkEmbeddings([torch.zeros(4, 8), torch.zeros(4, 16)], torch.arange(4))
    with pytest.raises(ValueError, match=r"equal widths, but this encoder's are \[8, 16\].*probe.layers: each"):
        embeddings.features("weighted")
    for layers in ("weighted", "best"):
        with pytest.raises(ValueError, match=f"no validation score to select or weigh layers with .probe.layers: {layers}"):
            ProbeConfig(kind="knn", layers=layers)
    assert ProbeConfig(layers="each").probed_layers(3) == [0, 1, 2]


def test_select_keeps_the_chunks_of_a_subset_and_renumbers_its_clips() -> None:
    clip = torch.tensor([0, 0, 1, 2, 2, 2, 3])
    x = torch.arange(7.0)[:, None]
    subset = ChunkEmbeddings([x, 2 * x], clip).select([1, 3])
    assert subset.clip.tolist() == [0, 1]
    assert subset.layers[0][:, 0].tolist() == [2.0, 6.0] and subset.x[:, 0].tolist() == [4.0, 12.0]


def test_the_loop_keeps_the_best_epoch_and_stops_on_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation metrics scripted per epoch: the tie at epoch 3 keeps epoch 3's weights (the later one), epoch 4 is
    the second without a strict improvement, so patience 2 stops there, before epoch 5's 0.9."""
    from ssl_mir.evaluation import probe_training
    from ssl_mir.evaluation.probe_training import Split, epoch_order, train_probe

    assert sorted(epoch_order(7, 4)[:7].tolist()) == list(range(7)) and len(epoch_order(7, 4)) == 40
    task = Task("t", "multiclass", ("a", "b"))
    script, seen = iter([0.5, 0.7, 0.7, 0.6, 0.9]), []

    def scripted(probe, task, split, aggregation):
        seen.append(probe.head.weight.detach().clone())
        return {"accuracy": next(script)}, None

    monkeypatch.setattr(probe_training, "clip_scores", scripted)
    probe = Probe(3, 2)
    train = Split(torch.randn(20, 3), torch.randint(0, 2, (20,)), torch.arange(20))
    best = train_probe(probe, task, train, train, 0.1, 0.0, 4, 50, 2, "logits")
    assert best == 0.7 and len(seen) == 4  # stopped at epoch 4
    assert torch.equal(probe.head.weight, seen[2])  # epoch 3's weights
