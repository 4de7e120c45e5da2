from pathlib import Path

import pytest
import torch

from ssl_mir.data.datamodules import LabeledDataModule, PretrainDataModule
from ssl_mir.data.datasets import ChunkDataset, CropDataset
from ssl_mir.data.manifest import Manifest

TASKS = {"instrument": "multiclass", "key": "multiclass", "instruments": "multilabel", "tempo": "regression"}


def test_chunks_are_deterministic_non_overlapping_and_keep_the_clip(corpus: Path) -> None:
    rows = Manifest.load(corpus).check().rows[:3]  # 3 s clips
    chunks = ChunkDataset(rows, 16000, 16000)
    assert len(chunks) == 9 and [chunks.index[i][0] for i in range(9)] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    whole = torch.cat([chunks[i]["wave"] for i in range(3)])
    from ssl_mir.data.audio import read_audio

    torch.testing.assert_close(whole, read_audio(rows[0].path, 16000))
    assert len(ChunkDataset(rows, 16000, 16000, max_chunks=2)) == 6


def test_crops_give_n_views(corpus: Path) -> None:
    rows = Manifest.load(corpus).check().rows[:2]
    item = CropDataset(rows, 16000, 8000, n_views=3)[1]
    assert item["views"].shape == (3, 8000) and item["index"] == 1


def test_label_fraction_is_seeded_stratified_and_keeps_every_class(corpus: Path) -> None:
    def subset(seed: int) -> list[int]:
        return LabeledDataModule(str(corpus), TASKS, target="instrument", chunk_samples=16000, label_fraction=0.1,
                                 seed=seed).train_indices

    dm = LabeledDataModule(str(corpus), TASKS, target="instrument", chunk_samples=16000, label_fraction=0.1)
    kept = dm.targets["train"]["instrument"][dm.train_indices]
    assert set(kept.tolist()) == set(dm.targets["train"]["instrument"].tolist())
    assert subset(0) == subset(0) != subset(1)


def test_unknown_label_in_valid_is_a_set_up_error(tmp_path: Path, corpus: Path) -> None:
    text = (corpus).read_text().splitlines()
    i = next(k for k, line in enumerate(text) if ",valid," in line)
    head, _, rest = text[i].partition(",valid,")
    text[i] = f"{head},valid,theremin,{rest.split(',', 1)[1]}"
    bad = corpus.parent / "bad_label.csv"
    bad.write_text("\n".join(text) + "\n")
    dm = LabeledDataModule(str(bad), TASKS, target="instrument", chunk_samples=16000)
    with pytest.raises(ValueError, match=r"clip_\d+.wav: unknown label\(s\) \['theremin'\] for task 'instrument'"):
        dm.targets  # noqa: B018


def test_bad_configs_fail_early(corpus: Path) -> None:
    with pytest.raises(ValueError, match="label_fraction must be in"):
        LabeledDataModule(str(corpus), TASKS, target="key", label_fraction=0.0)
    with pytest.raises(ValueError, match="data.target 'genre' is not one of"):
        LabeledDataModule(str(corpus), TASKS, target="genre")
    dm = PretrainDataModule(str(corpus), crop_samples=16000, batch_size=1000)
    with pytest.raises(ValueError, match="fewer than batch_size 1000"):
        dm.setup("fit")
