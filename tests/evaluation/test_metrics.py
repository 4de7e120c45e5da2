import torch

from ssl_mir.data.tasks import Task
from ssl_mir.data.keys import canonical_key, parse_key
from ssl_mir.evaluation.metrics import ClipEvaluator, aggregate_by_clip, weighted_key_score


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


def test_metrics_equal_sklearn() -> None:
    from sklearn import metrics as sk

    g = torch.Generator().manual_seed(0)
    n, c = 200, 5
    logits, target = torch.randn(n, c, generator=g), torch.arange(n) % c
    logits[target == 0, 0] += 2.0  # some signal, so the scores are not all near chance
    ev = ClipEvaluator(Task("y", "multiclass", tuple("abcde")))
    ev.update(logits, target, torch.arange(n))
    ours = ev.compute()
    pred = logits.argmax(1).numpy()
    assert abs(ours["accuracy"] - sk.accuracy_score(target, pred)) < 1e-6
    assert abs(ours["macro_f1"] - sk.f1_score(target, pred, average="macro")) < 1e-6
    assert abs(ours["top3_accuracy"] - sk.top_k_accuracy_score(target, logits.numpy(), k=3)) < 1e-6

    hot = (torch.rand(n, 4, generator=g) < 0.3).float()
    scores = torch.randn(n, 4, generator=g) + 1.5 * hot
    ml = ClipEvaluator(Task("t", "multilabel", tuple("wxyz")))
    ml.update(scores, hot, torch.arange(n))
    ours = ml.compute()
    assert abs(ours["roc_auc"] - sk.roc_auc_score(hot, scores, average="macro")) < 1e-5
    assert abs(ours["avg_precision"] - sk.average_precision_score(hot, scores, average="macro")) < 1e-5

    values = 120 + 20 * torch.randn(n, generator=g)
    out = ((values - 120) / 20 + 0.3 * torch.randn(n, generator=g)).unsqueeze(1)
    reg = ClipEvaluator(Task("tempo", "regression", mean=120.0, std=20.0))
    reg.update(out, values, torch.arange(n))
    ours = reg.compute()
    pred = (out.squeeze(1) * 20 + 120).numpy()
    assert abs(ours["r2"] - sk.r2_score(values, pred)) < 1e-4
    assert abs(ours["mae"] - sk.mean_absolute_error(values, pred)) < 1e-3


def test_weighted_key_score_equals_mir_eval() -> None:
    import mir_eval

    keys = [f"{t} {m}" for t in ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
            for m in ("major", "minor")]
    for ref in keys:
        for est in keys:
            assert weighted_key_score(ref, est) == mir_eval.key.weighted_score(ref, est), (ref, est)
    assert parse_key("Db major") == parse_key("C# major") == (1, "major")
    assert parse_key("rock") is None and parse_key("H major") is None
    assert canonical_key("Db major") == canonical_key("c# Major") == "C# major" and canonical_key("-") is None


def test_key_tasks_get_the_weighted_score() -> None:
    task = Task("key", "multiclass", ("A minor", "C major", "G major"))
    ev = ClipEvaluator(task)
    # truths: C major, C major, A minor; predictions: C major (1.0), G major (fifth, 0.5), C major (relative, 0.3)
    ev.update(torch.tensor([[0.0, 9.0, 0.0], [0.0, 0.0, 9.0], [0.0, 9.0, 0.0]]), torch.tensor([1, 1, 0]),
              torch.arange(3))
    assert abs(ev.compute()["weighted_key_score"] - 0.6) < 1e-6
    other = ClipEvaluator(Task("y", "multiclass", ("a", "b")))
    other.update(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]), torch.arange(2))
    assert "weighted_key_score" not in other.compute()


def test_probability_and_logit_aggregation_can_disagree() -> None:
    # mean logits [1, 0.67] → class a; mean probabilities [0.497, 0.503] → class b
    chunks, clip = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 1.0]]), torch.zeros(3, dtype=torch.long)
    task = Task("y", "multiclass", ("a", "b"))
    for aggregation, expected in [("logits", 0.0), ("probs", 1.0)]:
        ev = ClipEvaluator(task, aggregation)
        ev.update(chunks, torch.ones(3, dtype=torch.long), clip)
        assert ev.compute()["accuracy"] == expected
