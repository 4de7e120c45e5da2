"""Task-aware rules: labels declare what they change with; augmentations that alter it are refused or warned of."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ssl_mir.augment.chain import Augmentation
from ssl_mir.augment.policy import default_changes_with
from ssl_mir.cli import main
from ssl_mir.data.datamodules import LabeledDataModule, PretrainDataModule

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TASKS = {"instrument": "multiclass", "key": "multiclass", "tempo": "regression"}
PITCH = Augmentation([{"name": "gain", "p": 0.5}, {"name": "pitch_shift", "p": 0.5}])
STRETCH = Augmentation([{"name": "one_of", "transforms": [{"name": "time_stretch"}, {"name": "polarity"}]}])


@pytest.mark.parametrize("name,expected", [
    ("key", {"pitch"}), ("giantsteps_key", {"pitch"}), ("keyboard", set()), ("chords", {"pitch"}),
    ("tempo", {"tempo"}), ("bpm", {"tempo"}), ("downbeat", {"tempo"}), ("instrument", set()), ("genre", set()),
    ("nsynth_pitch", {"pitch"}), ("velocity", {"loudness"}),
])
def test_labels_change_with_what_their_names_say(name: str, expected: set) -> None:
    assert default_changes_with(name) == expected


def test_a_key_task_with_pitch_shift_is_refused_naming_both() -> None:
    with pytest.raises(ValueError) as err:
        LabeledDataModule("unused.csv", TASKS, target="key", augment=PITCH)
    assert "task 'key' changes with pitch, and pitch_shift alters pitch" in str(err.value)


def test_a_tempo_task_with_time_stretch_inside_one_of_is_refused() -> None:
    with pytest.raises(ValueError, match="task 'tempo' changes with tempo, and one_of alters tempo"):
        LabeledDataModule("unused.csv", TASKS, target="tempo", augment=STRETCH)


def test_only_trained_tasks_are_checked() -> None:
    data = LabeledDataModule("unused.csv", TASKS, target="instrument", augment=PITCH)  # fine: instrument
    with pytest.raises(ValueError, match="task 'key'"):
        data.derive(target="key")
    with pytest.raises(ValueError, match="task 'key'"):  # no target: every task is trained (probes)
        LabeledDataModule("unused.csv", TASKS, augment=PITCH)


def test_declared_properties_override_the_names() -> None:
    LabeledDataModule("unused.csv", TASKS, target="key", augment=PITCH, label_changes_with={"key": []})
    with pytest.raises(ValueError, match="task 'instrument' changes with pitch"):
        LabeledDataModule("unused.csv", TASKS, target="instrument", augment=PITCH,
                          label_changes_with={"instrument": ["pitch"]})
    with pytest.raises(ValueError, match=r"data.label_changes_with.key: unknown propert\(ies\) \['timbre'\]"):
        LabeledDataModule("unused.csv", TASKS, label_changes_with={"key": ["timbre"]})
    with pytest.raises(ValueError, match=r"names \['mood'\], which are not in data.tasks"):
        LabeledDataModule("unused.csv", TASKS, label_changes_with={"mood": ["pitch"]})


def test_tasks_carry_their_declaration(corpus: Path) -> None:
    data = LabeledDataModule(str(corpus), {"key": "multiclass", "instrument": "multiclass"},
                             label_changes_with={"instrument": ["loudness"]}, chunk_samples=16000, num_workers=0)
    assert data.tasks["key"].changes_with == {"pitch"} and data.tasks["instrument"].changes_with == {"loudness"}


def test_pretraining_warns_naming_the_downstream_tasks(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        PretrainDataModule("unused", augment=Augmentation([{"name": "polarity"}, {"name": "pitch_shift"},
                                                           {"name": "time_stretch"}]))
    text = caplog.text
    assert "pitch_shift alters pitch" in text and "key" in text and "chord" in text
    assert "time_stretch alters tempo" in text and "bpm" in text and "polarity" not in text


def test_supervised_key_config_with_pitch_shift_stops_before_training(corpus: Path, tmp_path: Path) -> None:
    args = ["supervised", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "supervised" / "cnn2d.yaml"),
            "-c", str(CONFIGS / "data" / "synthetic_labeled.yaml"), "--data.manifest", str(corpus),
            "--data.target", "key", "--data.augment.transforms", '[{"name": "pitch_shift", "p": 0.5}]',
            "--trainer.default_root_dir", str(tmp_path), "--log_to", "csv"]
    with pytest.raises(ValueError) as err:
        main(args)
    assert "task 'key'" in str(err.value) and "pitch_shift" in str(err.value)
    assert not (tmp_path / "checkpoints").exists()


def test_a_sweep_refuses_augmentation_that_only_probes_would_ignore(corpus: Path, tmp_path: Path) -> None:
    from ssl_mir.encoders import ShortChunkCNN
    from ssl_mir.evaluation.compare import augmentation
    from ssl_mir.evaluation.sweep import Sweep
    from ssl_mir.export import save_encoder

    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, num_workers=0,
                             augment=Augmentation([{"name": "gain", "p": 0.3}]))
    with pytest.raises(ValueError, match="probes embed un-augmented chunks"):
        Sweep(["mfcc"]).check(data)
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "cnn")
    Sweep(["mfcc", f"supervised:{tmp_path / 'cnn'}"]).check(data)  # supervised entries train on augmented crops
    assert augmentation(data) == "augmented on the device backend by gain (p 0.3)"
