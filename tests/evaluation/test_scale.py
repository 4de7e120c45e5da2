"""The unlabeled-scale axis: nested pool subsets, what an export records of its pre-training data, the table and
the plot of probe metrics against unlabeled hours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ssl_mir.cli import main
from ssl_mir.data.manifest import Manifest
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.budgets import Budget
from ssl_mir.evaluation.scale import plot_scale, pretraining_scale, scale_table
from ssl_mir.export import save_encoder

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_pool_subsets_are_seeded_and_nested(corpus: Path) -> None:
    manifest = Manifest.load(corpus)
    small, large = manifest.subset(0.1), manifest.subset(0.3)
    assert len(small) == round(0.1 * len(manifest)) and len(large) == round(0.3 * len(manifest))
    assert {r.path for r in small.rows} < {r.path for r in large.rows}
    assert [r.path for r in manifest.subset(0.3).rows] == [r.path for r in large.rows]
    assert [r.path for r in manifest.subset(0.3, seed=1).rows] != [r.path for r in large.rows]
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 0"):
        manifest.subset(0.0)


def test_export_records_the_pretraining_pool(corpus: Path, tmp_path: Path) -> None:
    main(["pretrain", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "data" / "synthetic.yaml"),
          "-c", str(CONFIGS / "pretrain" / "simclr_cnn2d.yaml"), "--data.manifest", str(corpus),
          "--data.pool_fraction", "0.5", "--data.batch_size", "2", "--data.num_workers", "0", "--log_to", "csv",
          "--model.init_args.encoder.init_args.channels", "[4, 8]", "--model.init_args.encoder.init_args.n_mels", "16",
          "--trainer.fast_dev_run", "true", "--trainer.default_root_dir", str(tmp_path)])
    meta = json.loads((tmp_path / "encoder" / "encoder.json").read_text())["meta"]
    data = meta["data"]
    train = Manifest.load(corpus).split("train")
    assert data["clips"] == round(0.5 * len(train))
    assert data["hours"] == pytest.approx(data["clips"] * 3.0 / 3600, rel=1e-3)  # 3-s clips
    assert 0 < meta["train_minutes"] < 5  # the training time, for the compute axis


def test_resumed_run_goes_on_counting_its_training_minutes(corpus: Path, tmp_path: Path) -> None:
    """A run resumed from a checkpoint records the minutes of both runs, so that a chain of `max_time` runs makes
    the compute axis."""
    args = ["pretrain", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "data" / "synthetic.yaml"),
            "-c", str(CONFIGS / "pretrain" / "simclr_cnn2d.yaml"), "--data.manifest", str(corpus),
            "--data.batch_size", "2", "--data.num_workers", "0", "--log_to", "csv", "--trainer.max_epochs", "-1",
            "--model.init_args.encoder.init_args.channels", "[4, 8]", "--model.init_args.encoder.init_args.n_mels",
            "16", "--trainer.limit_val_batches", "0"]
    main([*args, "--trainer.max_steps", "2", "--trainer.default_root_dir", str(tmp_path / "a")])
    first = json.loads((tmp_path / "a" / "encoder" / "encoder.json").read_text())["meta"]["train_minutes"]
    ckpt = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert 0 < ckpt["callbacks"]["Timer"]["time_elapsed"]["train"] / 60 <= first + 1e-3  # saved before fit's end
    ckpt["callbacks"]["Timer"]["time_elapsed"]["train"] = 600.0  # as if the first run had trained for 10 minutes
    torch.save(ckpt, tmp_path / "ten_minutes.ckpt")
    main([*args, "--trainer.max_steps", "4", "--trainer.default_root_dir", str(tmp_path / "b"),
          "--ckpt_path", str(tmp_path / "ten_minutes.ckpt")])
    second = json.loads((tmp_path / "b" / "encoder" / "encoder.json").read_text())["meta"]
    assert second["global_step"] == 4
    assert 10 < second["train_minutes"] < 12


def _export(root: Path, name: str, method: str, hours: float | None, minutes: float | None = None) -> str:
    meta = {"method": method, **({"data": {"source": "pool", "clips": 1, "hours": hours}} if hours else {}),
            **({"train_minutes": minutes} if minutes is not None else {})}
    save_encoder(ShortChunkCNN(channels=[4], n_mels=16), root / name / "encoder", meta=meta)
    return str(root / name / "encoder")


def test_scale_groups_one_method_over_several_pool_sizes(tmp_path: Path) -> None:
    a = _export(tmp_path, "s10", "SimCLR", 1.0)
    b = _export(tmp_path, "s100", "SimCLR", 10.0)
    c = _export(tmp_path, "m2d", "M2D", 10.0)  # one size only: no axis of its own
    d = _export(tmp_path, "old", "SimCLR", None)  # exported before the data was recorded
    scale = pretraining_scale([a, b, c, d, f"random:{a}", "mfcc"])
    assert scale == {"s10": ("SimCLR · ShortChunkCNN", 1.0), "s100": ("SimCLR · ShortChunkCNN", 10.0)}
    assert set(pretraining_scale([a, b], "best")) == {"s10@best", "s100@best"}  # the labels of best-layer results
    tenth, whole = Budget(0, 0.1), Budget(0, 1.0)
    stats = {("s10", "key", tenth, "accuracy"): (0.2, 0.01, 3), ("s100", "key", tenth, "accuracy"): (0.3, 0.02, 3),
             ("s10", "key", whole, "accuracy"): (0.4, 0.01, 3), ("s100", "key", whole, "accuracy"): (0.5, 0.0, 3)}
    table = scale_table(stats, scale, "key", "accuracy")
    assert "| SimCLR · ShortChunkCNN | 1.00 | 0.200 ± 0.010 | 0.400 ± 0.010 |" in table
    assert "| SimCLR · ShortChunkCNN | 10.00 | 0.300 ± 0.020 | 0.500 ± 0.000 |" in table
    figure = plot_scale(stats, scale, [("key", "accuracy")], tmp_path / "scale.png")
    ax = figure.axes[0]
    assert len(ax.containers) == 2 and ax.get_xscale() == "log"  # one line per label fraction
    assert (tmp_path / "scale.png").read_bytes()[:4] == b"\x89PNG"


def test_compute_axis_groups_one_method_and_pool_over_several_training_times(tmp_path: Path) -> None:
    a = _export(tmp_path, "t15", "SimCLR", 50.0, 15.0)
    b = _export(tmp_path, "t30", "SimCLR", 50.0, 30.2)
    c = _export(tmp_path, "small", "SimCLR", 5.0, 30.0)  # another pool: a line of its own, with one point
    d = _export(tmp_path, "untimed", "SimCLR", 50.0)
    assert pretraining_scale([a, b, c, d], axis="minutes") == {"t15": ("SimCLR · ShortChunkCNN, 50.0 h", 15.0),
                                                               "t30": ("SimCLR · ShortChunkCNN, 50.0 h", 30.2)}
    assert set(pretraining_scale([a, b, c, d])) == {"t15", "t30", "small", "untimed"}  # the hours axis
    half = Budget(0, 0.5)
    stats = {("t15", "key", half, "accuracy"): (0.2, 0.01, 3), ("t30", "key", half, "accuracy"): (0.3, 0.02, 3)}
    scale = pretraining_scale([a, b], axis="minutes")
    table = scale_table(stats, scale, "key", "accuracy", "minutes")
    assert "against pre-training minutes" in table
    assert table.index("| 15.00 | 0.200 ± 0.010 |") < table.index("| 30.20 | 0.300 ± 0.020 |")
    figure = plot_scale(stats, scale, [("key", "accuracy")], tmp_path / "minutes.png", "minutes")
    assert figure.axes[0].get_xlabel() == "pre-training time (minutes)"
    (line,) = figure.axes[0].containers  # one line: one group at one label budget
    assert list(line.lines[0].get_xdata()) == [15.0, 30.2]
