"""`ssl-mir compare` end to end on generated audio, its report and plot, and the errors of bad sweep configs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ssl_mir.cli import main
from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.compare import plot, series
from ssl_mir.evaluation.report import summarise
from ssl_mir.export import save_encoder

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def compare_args(corpus: Path, tmp_path: Path, *extra: object) -> list[str]:
    return [str(a) for a in (
        "compare", "-c", CONFIGS / "trainer" / "cpu.yaml", "-c", CONFIGS / "data" / "synthetic_labeled.yaml",
        "-c", CONFIGS / "probe" / "linear.yaml", "-c", CONFIGS / "compare" / "synthetic.yaml",
        "--data.manifest", corpus, "--data.chunk_samples", "16000", "--data.batch_size", "8",
        "--data.num_workers", "0", "--out", tmp_path / "out", "--cache_dir", tmp_path / "cache", *extra)]


def test_compare_writes_csv_report_and_plot(corpus: Path, tmp_path: Path) -> None:
    enc = tmp_path / "run" / "encoder"
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), enc)
    main(compare_args(corpus, tmp_path, "--encoders", f"[{enc}, random:{enc}, supervised:{enc}, mfcc]",
                      "--fractions", "[0.25, 1.0]", "--shots", "[1]", "--probe.seeds", "[0, 1]",
                      "--probe.max_epochs", "2", "--supervised.max_epochs", "1", "--supervised.min_steps_per_epoch",
                      "1", "--chunk_seconds", "{instrument: 0.5}"))
    out = tmp_path / "out"
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    keys = {(r["encoder"], r["fraction"], r["shots"], r["seed"], r["metric"]) for r in rows}
    specs = [str(enc), f"random:{enc}", f"supervised:{enc}", "mfcc"]
    budgets = (("0.25", "0"), ("1.0", "0"), ("0.0", "1"))
    assert keys == {(e, f, n, s, m) for e in specs for f, n in budgets for s in ("0", "1")
                    for m in ("accuracy", "macro_f1", "top3_accuracy", "correct_by_clip")}
    outcomes = {(r["encoder"], r["fraction"], r["shots"], r["seed"]): r["value"] for r in rows
                if r["metric"] == "correct_by_clip"}
    n_test = {len(v) for v in outcomes.values()}
    assert len(n_test) == 1 and set("".join(outcomes.values())) <= {"0", "1"}  # one outcome per test clip, everywhere
    for r in rows:  # each cell's accuracy is the share of its clips that are right
        if r["metric"] == "accuracy":
            right = outcomes[r["encoder"], r["fraction"], r["shots"], r["seed"]]
            assert abs(float(r["value"]) - right.count("1") / len(right)) < 1e-6
    assert len(rows) == len(keys) and {r["task"] for r in rows} == {"instrument"}
    report = (out / "report.md").read_text()
    assert "## Protocol" in report and "Clips kept (seed 0): instrument: " in report
    assert "non-overlapping chunks (instrument 0.5 s)" in report
    assert "mean and standard deviation, for every encoder and every layer, MFCC and chroma included" in report
    assert "`probe.pooling: mean_std`" in report
    assert "decoded and resampled once for the sweep" in report  # the supervised: entry asked for it
    assert (tmp_path / "cache" / "decoded" / "16000" / "index.json").is_file()
    assert "| encoder | 1 shot | 25% | 100% |" in report and "| supervised(run) |" in report and "**" in report
    assert "instrument: 1 shot → 6, 25% → " in report
    assert "### instrument: accuracy, mean over seeds [95 % bootstrap interval over the" in report
    assert "| run − random(run) |" in report and "| run − mfcc |" in report and "| run − supervised(run) |" in report
    assert (out / "label_efficiency_shots.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "label_efficiency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for figure in ("map", "confusion"):
        assert (out / f"{figure}_instrument.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_generic_config_takes_encoders_and_tasks_from_the_command_line(corpus: Path, tmp_path: Path) -> None:
    enc = tmp_path / "run" / "encoder"
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), enc)
    args = [a if a != str(CONFIGS / "compare" / "synthetic.yaml") else str(CONFIGS / "compare" / "default.yaml")
            for a in compare_args(corpus, tmp_path)]
    main([*args, "--encoders", f"[{enc}, mfcc]", "--tasks", "[key]", "--fractions", "[1.0]", "--probe.seeds", "[0]",
          "--probe.max_epochs", "2", "--chunk_seconds", "{key: 0.5}"])
    with open(tmp_path / "out" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["encoder"] for r in rows} == {str(enc), "mfcc"} and {r["task"] for r in rows} == {"key"}
    assert "whose probe scores best on the validation split" in (tmp_path / "out" / "report.md").read_text()


def test_the_map_draws_each_encoder_s_test_clips_by_label(corpus: Path, tmp_path: Path) -> None:
    import torch

    from ssl_mir.evaluation.embeddings import ChunkEmbeddings
    from ssl_mir.evaluation.maps import clip_means, write_maps
    from ssl_mir.evaluation.probe import ProbeConfig
    from ssl_mir.evaluation.sweep import Sweep

    chunks = ChunkEmbeddings([torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0]])], torch.tensor([0, 0, 1]))
    assert clip_means(chunks).tolist() == [[2.0, 1.0], [5.0, 5.0]]
    enc = tmp_path / "run" / "encoder"
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), enc)
    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, num_workers=0)
    sweep = Sweep([str(enc), f"supervised:{enc}", "mfcc"], [1.0], probe=ProbeConfig(seeds=[0]))
    (path,) = write_maps(sweep, data, tmp_path, None, "cpu")
    assert path == tmp_path / "map_instrument.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_has_one_series_per_encoder(tmp_path: Path) -> None:
    results = [{"encoder": e, "task": "t", "fraction": f, "seed": s, "layer": "output", "metric": "accuracy",
                "value": v + 0.1 * s} for e, v in [("a", 0.5), ("random:a", 0.3), ("mfcc", 0.4)]
               for f in (1.0, 0.1) for s in (0, 1)]
    stats = summarise(results)
    data = series(stats, "t", "accuracy")
    assert list(data) == ["a", "random(a)", "mfcc"]
    fractions, means, stds = data["a"]
    assert fractions == [0.1, 1.0] and means == pytest.approx([0.55, 0.55]) and stds == pytest.approx([0.05, 0.05])
    figure = plot(stats, [("t", "accuracy")], tmp_path / "p.png")
    ax = figure.axes[0]
    assert len(ax.containers) == 3  # one errorbar per encoder
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "random(a)", "mfcc"]


def test_derived_subsets_equal_a_fresh_datamodule(corpus: Path) -> None:
    """Every entry of a sweep gets its subset from `derive`; it must be the subset a user gets from the config."""
    tasks = {"instrument": "multiclass", "key": "multiclass"}
    base = LabeledDataModule(str(corpus), tasks, target="instrument", chunk_samples=16000, num_workers=0)
    for target, fraction, seed in [("instrument", 0.25, 0), ("key", 0.5, 3)]:
        fresh = LabeledDataModule(str(corpus), tasks, target=target, chunk_samples=16000, label_fraction=fraction,
                                  seed=seed, num_workers=0)
        assert base.derive(target=target, label_fraction=fraction, seed=seed).train_indices == fresh.train_indices
    assert base.train_indices == list(range(len(base.splits["train"])))  # the base is unchanged
    with pytest.raises(ValueError, match="longer than data.chunk_samples 16000"):
        base.derive(chunk_samples=32000)


@pytest.mark.parametrize("extra, error", [
    (["--encoders", "[runs/nowhere/encoder]"], "runs/nowhere/encoder: not an exported encoder"),
    (["--encoders", "[mfcc]", "--fractions", "[0.0, 1.0]"], r"fractions: 0.0 is not in \(0, 1\]"),
    (["--encoders", "[mfcc]", "--fractions", "[1.5]"], r"fractions: 1.5 is not in \(0, 1\]"),
    (["--encoders", "[mfcc]", "--tasks", "[genre]"], r"task 'genre' is not one of data.tasks \['instrument'"),
    (["--encoders", "[mfcc]", "--data.tasks", "{genre: multiclass}", "--data.target", "genre",
      "--tasks", "[genre]"],
     r"label column 'genre' missing for \d+ rows"),
])
def test_bad_compare_configs_give_clear_errors(corpus: Path, tmp_path: Path, extra: list[str], error: str) -> None:
    with pytest.raises((ValueError, FileNotFoundError), match=error):
        main(compare_args(corpus, tmp_path, *extra))
    assert not (tmp_path / "out").exists()


def test_an_interrupted_compare_resumes_where_it_stopped(corpus: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl_mir.evaluation.sweep as sweep_module

    enc = tmp_path / "run" / "encoder"
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), enc)
    common = ["--encoders", f"[random:{enc}, mfcc]", "--fractions", "[0.25, 1.0]", "--probe.seeds", "[0, 1]",
              "--probe.max_epochs", "2"]
    main(compare_args(corpus, tmp_path / "straight", *common))  # 8 cells, uninterrupted
    real_probe, calls, stop_at = sweep_module.probe_subset, [], [4]

    class Stopped(Exception):
        """The job is stopped in the fourth cell (Ctrl-C, a pre-emption)."""

    def probe_then_stop(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) in stop_at:
            raise Stopped
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "probe_subset", probe_then_stop)
    with pytest.raises(Stopped):
        main(compare_args(corpus, tmp_path / "resumed", *common))
    with open(tmp_path / "resumed" / "out" / "results.csv") as f:
        assert len({(r["encoder"], r["fraction"], r["seed"]) for r in csv.DictReader(f)}) == 3  # kept at once
    assert "cell 3 of 8: random:" in (tmp_path / "resumed" / "out" / "compare.log").read_text()
    calls.clear()
    stop_at.clear()
    main(compare_args(corpus, tmp_path / "resumed", *common))
    assert len(calls) == 5  # the three finished cells were not computed again
    straight, resumed = ((tmp_path / r / "out" / "results.csv").read_text() for r in ("straight", "resumed"))
    assert resumed == straight
    with pytest.raises(ValueError, match=r"out holds the results of a sweep with other settings \(probe differ\)"):
        main(compare_args(corpus, tmp_path / "resumed", *common, "--probe.lr", "0.01"))


def test_the_confusion_figure_redraws_the_best_frozen_encoder_s_cell(corpus: Path, tmp_path: Path) -> None:
    import torch

    from ssl_mir.evaluation.confusion import best_cell, confusion, write_confusions
    from ssl_mir.evaluation.probe import ProbeConfig
    from ssl_mir.evaluation.sweep import Sweep, run_sweep

    assert confusion(torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]), torch.tensor([0, 0, 1]), 2).tolist() == \
        [[1, 1], [1, 0]]
    enc = tmp_path / "run" / "encoder"
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), enc)
    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, batch_size=8,
                             num_workers=0)
    sweep = Sweep([str(enc), f"supervised:{enc}", "mfcc"], [0.5, 1.0], probe=ProbeConfig(seeds=[0, 1], max_epochs=3))
    results = run_sweep(sweep, data, "cpu", cache_dir=tmp_path / "cache", show_progress=False)
    rigged = [{**r, "value": 1.0} if r["encoder"] == f"supervised:{enc}" else r for r in results]
    chosen = best_cell(rigged, "instrument", "accuracy")  # supervised cells are never chosen, however high
    means = {e: np.mean([r["value"] for r in results if (r["encoder"], r["fraction"], r["metric"]) ==
                         (e, 1.0, "accuracy")]) for e in (str(enc), "mfcc")}
    assert chosen is not None and chosen.encoder == max(means, key=means.get) and chosen.fraction == 1.0
    (written_cell, score, path), = write_confusions(results, sweep, data, tmp_path, tmp_path / "cache", "cpu").values()
    assert written_cell == chosen and path == tmp_path / "confusion_instrument.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert score == next(r["value"] for r in results if (r["encoder"], r["fraction"], r["seed"], r["metric"]) ==
                         (chosen.encoder, 1.0, 0, "accuracy"))  # the refit reproduces the sweep's cell


def test_multilabel_and_regression_tasks_get_per_class_auc_and_a_scatter() -> None:
    import torch

    from ssl_mir.data.tasks import Task
    from ssl_mir.evaluation.confusion import draw, per_class_auc

    scores = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.8, 0.5], [0.7, 0.6, 0.5], [0.3, 0.1, 0.5]])
    targets = torch.tensor([[1, 0, 1], [0, 1, 1], [1, 0, 1], [0, 1, 1]])
    auc = per_class_auc(scores, targets)
    assert auc[:2].tolist() == [1.0, 0.5] and np.isnan(auc[2])  # the third class is positive on every clip
    tags = draw(Task("tags", "multilabel", ("a", "b", "c")), scores, targets, "tags")
    assert [round(p.get_width(), 2) for p in tags.axes[0].patches] == [1.0, 0.5, 0.0]
    tempo = draw(Task("tempo", "regression"), torch.tensor([100.0, 121.0]), torch.tensor([98.0, 120.0]), "tempo")
    assert tempo.axes[0].collections[0].get_offsets().tolist() == [[98.0, 100.0], [120.0, 121.0]]
