from pathlib import Path

import pytest
import torch
from rich.console import Console

from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.baselines import resolve_encoder
from ssl_mir.evaluation.budgets import Budget
from ssl_mir.evaluation.probe import ProbeConfig
from ssl_mir.evaluation.report import encoder_label, print_table, summarise
from ssl_mir.evaluation.sweep import Sweep, run_sweep
from ssl_mir.export import save_encoder


def probe_encoders(encoders: list[str], data: LabeledDataModule, config: ProbeConfig) -> list[dict]:
    return run_sweep(Sweep(encoders, [1.0], probe=config), data, accelerator="cpu", show_progress=False)


def test_summarise_gives_mean_and_std_over_seeds() -> None:
    results = [{"encoder": "e", "task": "t", "fraction": 1.0, "seed": s, "layer": "output", "metric": "accuracy",
                "value": v} for s, v in [(0, 0.5), (1, 0.7)]]
    mean, std, n = summarise(results)[("e", "t", Budget(0, 1.0), "accuracy")]
    assert (round(mean, 6), round(std, 6), n) == (0.6, 0.1, 2)
    console = Console(record=True, width=200)
    print_table(results, console)
    assert "0.600 ± 0.100" in console.export_text()


def test_random_encoders_are_reinitialised_per_seed(tmp_path: Path, corpus: Path) -> None:
    save_encoder(ShortChunkCNN(channels=[4, 8], n_mels=16), tmp_path / "run" / "encoder")
    spec = f"random:{tmp_path / 'run' / 'encoder'}"
    a, b = resolve_encoder(spec, seed=0), resolve_encoder(spec, seed=1)
    assert not torch.equal(a.layers[0][0].weight, b.layers[0][0].weight)
    torch.testing.assert_close(a.layers[0][0].weight, resolve_encoder(spec, seed=0).layers[0][0].weight)
    assert encoder_label(spec) == "random(run)"

    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, num_workers=0)
    results = probe_encoders([spec], data, ProbeConfig(max_epochs=2, seeds=[0, 1]))
    assert sorted((r["seed"], r["metric"]) for r in results) == [
        (s, m) for s in (0, 1) for m in ("accuracy", "correct_by_clip", "macro_f1", "top3_accuracy")]


def test_sample_rate_mismatch_is_a_clear_error(tmp_path: Path, corpus: Path) -> None:
    save_encoder(ShortChunkCNN(sample_rate=22050, channels=[4], n_mels=16), tmp_path / "enc")
    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, num_workers=0)
    with pytest.raises(ValueError, match="expects 22050 Hz but data.sample_rate is 16000"):
        probe_encoders([str(tmp_path / "enc")], data, ProbeConfig(max_epochs=1))


def test_mfcc_baseline_beats_chance_on_a_separable_task(tmp_path: Path) -> None:
    """Two timbres (a pure tone and a buzzy square wave) at random pitches: MFCC statistics separate them."""
    import csv

    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        t = np.arange(16000) / 16000
        f0 = rng.uniform(150, 600)
        kind = ["tone", "buzz"][i % 2]
        x = np.sin(2 * np.pi * f0 * t) if kind == "tone" else np.sign(np.sin(2 * np.pi * f0 * t))
        sf.write(tmp_path / f"{i}.wav", (0.3 * x + 0.003 * rng.standard_normal(t.size)).astype(np.float32), 16000)
        rows.append({"path": f"{i}.wav", "split": ["train", "train", "valid", "test"][(i // 2) % 4], "timbre": kind})
    with open(tmp_path / "m.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", "timbre"])
        writer.writeheader()
        writer.writerows(rows)
    data = LabeledDataModule(str(tmp_path / "m.csv"), {"timbre": "multiclass"}, chunk_samples=8000, num_workers=0)
    results = probe_encoders(["mfcc"], data, ProbeConfig(max_epochs=30))
    accuracy = next(r["value"] for r in results if r["metric"] == "accuracy")
    assert accuracy > 0.9  # chance: 0.5
    assert encoder_label("mfcc") == "mfcc"


def test_bad_probe_configs_give_clear_errors(tmp_path: Path, corpus: Path) -> None:
    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, num_workers=0)
    with pytest.raises(FileNotFoundError, match="nowhere: not an exported encoder"):
        probe_encoders([str(tmp_path / "nowhere")], data, ProbeConfig(max_epochs=1))
    missing = LabeledDataModule(str(corpus), {"genre": "multiclass"}, chunk_samples=16000, num_workers=0)
    with pytest.raises(ValueError, match=r"manifest.csv\[train\]: label column 'genre' missing for \d+ rows, e.g. .*clip_"):
        probe_encoders(["mfcc"], missing, ProbeConfig(max_epochs=1))
    with pytest.raises(ValueError, match="label_fraction must be in \\(0, 1\\], got 0.0"):
        LabeledDataModule(str(corpus), {"instrument": "multiclass"}, label_fraction=0.0)


def test_layerwise_sweep_probes_every_hidden_state(tmp_path: Path, corpus: Path) -> None:
    save_encoder(ShortChunkCNN(channels=[4, 8, 8], n_mels=16), tmp_path / "run" / "encoder")
    spec = str(tmp_path / "run" / "encoder")
    data = LabeledDataModule(str(corpus), {"instrument": "multiclass"}, chunk_samples=16000, num_workers=0)
    each = probe_encoders([spec], data, ProbeConfig(max_epochs=2, layers="each"))
    assert {r["layer"] for r in each} == {"0", "1", "output"}
    with pytest.raises(ValueError, match="equal widths"):
        probe_encoders([spec], data, ProbeConfig(max_epochs=2, layers="weighted"))
    save_encoder(ShortChunkCNN(channels=[8, 8], n_mels=16), tmp_path / "same" / "encoder")
    weighted = probe_encoders([str(tmp_path / "same" / "encoder")], data, ProbeConfig(max_epochs=2, layers="weighted"))
    assert {r["layer"] for r in weighted} == {"weighted"}
    assert encoder_label(spec, "1") == "run@1" and encoder_label(f"supervised:{spec}") == "supervised(run)"
