import pytest
import torch

from ssl_mir.data.manifest import Manifest, Row
from ssl_mir.data.tasks import Task


def _manifest(values: list[str], column: str = "y") -> Manifest:
    return Manifest([Row(path=f"/x/{i}.wav", labels={column: v} if v else {}) for i, v in enumerate(values)])


def test_multiclass_vocabulary_comes_from_training_and_unknown_labels_fail() -> None:
    task = Task.from_manifest("y", "multiclass", _manifest(["rock", "jazz", "rock"]))
    assert task.classes == ("jazz", "rock")
    assert task.encode_rows(_manifest(["rock", "jazz"])).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"/x/1.wav: unknown label\(s\) \['metal'\] for task 'y'"):
        task.encode_rows(_manifest(["rock", "metal"]))


def test_multilabel_is_multi_hot_and_empty_means_none() -> None:
    task = Task.from_manifest("y", "multilabel", _manifest(["a;b", "c", ""]))
    targets = task.encode_rows(_manifest(["b;c", ""]))
    torch.testing.assert_close(targets, torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))


def test_regression_is_standardised_in_the_loss_and_reported_in_units() -> None:
    task = Task.from_manifest("y", "regression", _manifest(["100", "140"]))
    assert (task.mean, task.std) == (120.0, 20.0)
    target = torch.tensor([100.0, 140.0])
    assert float(task.loss(torch.tensor([[-1.0], [1.0]]), target)) == 0.0
    torch.testing.assert_close(task.predict(torch.tensor([[-1.0], [1.0]])), target)
    with pytest.raises(ValueError, match="/x/0.wav: task 'y' expects a number, got 'fast'"):
        task.encode_rows(_manifest(["fast"]))


def test_a_task_needs_two_classes_and_its_column() -> None:
    with pytest.raises(ValueError, match="1 class"):
        Task.from_manifest("y", "multiclass", _manifest(["rock", "rock"]))
    with pytest.raises(ValueError, match="label column 'z' missing"):
        Task.from_manifest("z", "multiclass", _manifest(["rock", "jazz"]))
