import torch

from ssl_mir.data.tasks import Task
from ssl_mir.evaluation.metrics import ClipEvaluator, aggregate_by_clip


def test_aggregate_by_clip_averages_chunks() -> None:
    values = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])
    means, clips = aggregate_by_clip(values, torch.tensor([7, 7, 2]))
    assert clips.tolist() == [2, 7]
    torch.testing.assert_close(means, torch.tensor([[5.0, 5.0], [2.0, 1.0]]))


def test_clip_level_accuracy_uses_the_mean_of_chunk_logits() -> None:
    task = Task("y", "multiclass", ("a", "b"))
    ev = ClipEvaluator(task)
    # clip 0 (label 0): chunks vote 0, 1, but the mean logit favours 0; clip 1 (label 1): mean favours 0 → wrong.
    ev.update(torch.tensor([[3.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]), torch.tensor([0, 0]))
    ev.update(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 1]), torch.tensor([1, 1]))
    scores = ev.compute()
    assert scores["accuracy"] == 0.5
    assert abs(scores["macro_f1"] - (2 / 3 + 0) / 2) < 1e-6  # F1 of class a is 2/3, of class b 0


def test_multilabel_and_regression_metrics() -> None:
    ml = ClipEvaluator(Task("t", "multilabel", ("x", "y")))
    ml.update(torch.tensor([[2.0, -1.0], [-2.0, 1.0], [1.0, 2.0], [-1.0, -2.0]]),
              torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]), torch.arange(4))
    assert ml.compute() == {"roc_auc": 1.0, "avg_precision": 1.0}
    reg = ClipEvaluator(Task("tempo", "regression", mean=100.0, std=10.0))
    reg.update(torch.tensor([[0.0], [1.0], [-1.0]]), torch.tensor([100.0, 112.0, 90.0]), torch.arange(3))
    scores = reg.compute()
    assert abs(scores["mae"] - 2 / 3) < 1e-6
    assert abs(scores["r2"] - (1 - 4 / (((100 - 302 / 3) ** 2) + ((112 - 302 / 3) ** 2) + ((90 - 302 / 3) ** 2)))) < 1e-5
