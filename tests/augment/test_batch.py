"""Both backends over whole chains: seeds, shapes, silence, which rows are touched, and the data modules' hooks."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from ssl_mir.augment import transform as transform_module
from ssl_mir.augment.batch import BatchAugment
from ssl_mir.augment.chain import Augmentation
from ssl_mir.augment.vocabulary import VOCABULARY, parse
from ssl_mir.augment.waveform import CpuAugment
from ssl_mir.data.audio import read_audio
from ssl_mir.data.datamodules import PretrainDataModule
from tests.conftest import write_tone

SR = 16000
EVERY = [{"name": n, "p": 1.0} for n in sorted(VOCABULARY) if n not in ("one_of", "crop")] + [
    {"name": "crop", "samples": 8000},
    {"name": "one_of", "p": 1.0, "transforms": [{"name": "highpass", "p": 1.0}, {"name": "lowpass", "p": 1.0}]}]


def test_every_name_is_covered() -> None:
    assert {e["name"] for e in EVERY} == set(VOCABULARY)


@pytest.mark.parametrize("entry", EVERY, ids=lambda e: e["name"])
def test_each_transform_is_seeded_keeps_shape_and_survives_silence(entry: dict) -> None:
    batch = BatchAugment(parse([entry]), SR)
    x = 0.1 * torch.randn(4, SR)
    torch.manual_seed(1)
    a = batch(x)
    torch.manual_seed(1)
    b = batch(x)
    torch.manual_seed(2)
    c = batch(x)
    assert torch.equal(a, b)
    if entry["name"] != "polarity":  # the one transform without a random parameter
        assert not torch.equal(a, c)
    assert a.shape == ((4, 8000) if entry["name"] == "crop" else x.shape)  # crop is the documented exception
    silent = batch(torch.zeros(4, SR))
    assert torch.isfinite(silent).all() and silent.abs().max() == 0
    cpu = CpuAugment(parse([entry]))
    out = cpu.apply(torch.zeros(SR), SR)
    assert torch.isfinite(out).all() and out.abs().max() < 1e-6
    assert out.shape == a.shape[1:]


def test_only_the_drawn_rows_change() -> None:
    torch.manual_seed(0)
    x = 0.1 * torch.randn(4000, 64)
    y = BatchAugment(parse([{"name": "polarity", "p": 0.3}]), SR)(x)
    flipped = (y == -x).all(dim=1)
    assert ((y == x).all(dim=1) | flipped).all()
    assert abs(float(flipped.float().mean()) - 0.3) < 0.03


def test_one_of_applies_exactly_one_member_per_row() -> None:
    torch.manual_seed(0)
    x = torch.ones(1000, 16)
    chain = [{"name": "one_of", "p": 1.0, "transforms": [{"name": "polarity", "p": 1.0},
                                                        {"name": "gain", "p": 1.0, "min_gain_db": 6, "max_gain_db": 6}]}]
    y = BatchAugment(parse(chain), SR)(x)
    negated, louder = (y == -1).all(dim=1), (y[:, 0] > 1.9).reshape(-1)
    assert (negated ^ louder).all() and 400 < int(negated.sum()) < 600


def test_the_cpu_backend_is_seeded_like_the_workers() -> None:
    chain = CpuAugment(parse([{"name": "gain", "p": 0.5}, {"name": "reverb", "p": 0.5},
                              {"name": "pitch_shift", "p": 0.5}]))
    x = 0.1 * torch.randn(SR)

    def run(seed: int) -> torch.Tensor:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        return torch.stack([chain.apply(x, SR) for _ in range(4)])

    assert torch.equal(run(0), run(0)) and not torch.equal(run(0), run(1))


class RecordViews(pl.LightningModule):
    """Keeps the views training_step receives."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []
        self.draws: list = []

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        self.seen.append(batch["views"].clone())
        self.draws.append(batch["draw"])
        return (self.weight * batch["views"].mean()).sum()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.parametrize("backend", ["device", "cpu"])
def test_training_batches_arrive_augmented(backend: str, tmp_path: Path) -> None:
    """Crops as long as the clips are the clips themselves, so a sure polarity flip must arrive negated."""
    paths = [write_tone(tmp_path / f"t{i}.wav", freq=200.0 + 50 * i, seconds=0.5) for i in range(4)]
    data = PretrainDataModule(str(tmp_path), sample_rate=SR, crop_samples=SR // 2, n_views=2, batch_size=4,
                              num_workers=0, augment=Augmentation([{"name": "polarity", "p": 1.0}], backend))
    model = RecordViews()
    pl.Trainer(max_steps=1, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False).fit(model, datamodule=data)
    in_workers = backend == "cpu"
    assert model.draws[0] == (0, 0, 0)  # read on the host before the transfer: (seed, epoch, batch), no device sync
    assert (data.worker_augment is not None) == in_workers and (data.batch_augment is not None) != in_workers
    clips = torch.stack([read_audio(p, SR) for p in paths])
    seen = model.seen[0]  # (4, 2, S)
    for views in seen:
        match = [torch.allclose(views[0], -c) for c in clips]
        assert sum(match) == 1 and torch.equal(views[0], views[1])
    assert data.plain_crops().dataset[0]["views"].abs().sum() > 0  # stats read plain crops: no hook outside fit
    first = data.plain_crops().dataset[0]["views"][0]
    assert any(torch.allclose(first, c) for c in clips)


@pytest.mark.parametrize("masked", [False, True])
def test_ranks_apply_their_slice_of_the_global_draws(masked: bool) -> None:
    """Two ranks seeded alike augment their halves exactly as one process augments the whole batch."""
    chain = BatchAugment(parse([{"name": "polarity", "p": 0.5}, {"name": "gain", "p": 0.5},
                                {"name": "one_of", "p": 0.7, "transforms": [{"name": "lowpass"}, {"name": "delay"}]},
                                {"name": "pitch_shift", "p": 0.5}, {"name": "crop", "samples": 12000}]), SR, masked)
    x = 0.1 * torch.randn(8, SR)
    torch.manual_seed(3)
    whole = chain(x)
    halves = []
    for rank in (0, 1):
        torch.manual_seed(3)
        halves.append(chain(x[4 * rank: 4 * rank + 4], shard=(rank, 2)))
    torch.testing.assert_close(torch.cat(halves), whole)
    same_clips = []
    for rank in (0, 1):  # the same clips on both ranks still get different draws
        torch.manual_seed(3)
        same_clips.append(chain(x[:4], shard=(rank, 2)))
    assert not torch.equal(*same_clips)


def test_ranks_generate_different_noise_and_stay_in_step() -> None:
    chain = BatchAugment(parse([{"name": "noise", "p": 1.0}, {"name": "gain", "p": 0.5}]), SR)
    x = 0.1 * torch.randn(4, SR)
    outs, states = [], []
    for rank in (0, 1):
        torch.manual_seed(5)
        outs.append(chain(x, shard=(rank, 2)))
        states.append(torch.get_rng_state())
    assert not torch.allclose(outs[0] - x, outs[1] - x)  # the noise differs between ranks ...
    assert torch.equal(states[0], states[1])  # ... while their generators stay in step


@pytest.mark.parametrize("entry", [e for e in EVERY if e["name"] not in ("noise", "reverb")], ids=lambda e: e["name"])
def test_row_chunks_on_a_cpu_give_the_one_call_result(entry: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunked rows (on a CPU) and one call agree, on some rows and on all (where the length may change). Noise and
    reverb draw their noise per chunk, so only their shape and their rows are the same."""
    transform = parse([entry])[0]
    torch.manual_seed(0)
    x, params = 0.1 * torch.randn(6, SR), transform.draw(6)
    whole = transform.apply(x, params, SR)
    monkeypatch.setattr(transform_module, "CPU_CHUNK_BYTES", 1)  # one row per chunk
    torch.testing.assert_close(transform.apply_to_rows(x.clone(), torch.arange(6), params, SR), whole)
    if entry["name"] == "crop":
        return  # applies to every row or none
    rows = torch.tensor([1, 2, 4])
    some = transform.apply_to_rows(x.clone(), rows, {k: v[rows] for k, v in params.items()}, SR)
    torch.testing.assert_close(some[rows], whole[rows])
    assert torch.equal(some[[0, 3, 5]], x[[0, 3, 5]])


DETERMINISTIC = [e for e in EVERY if e["name"] not in ("noise", "reverb")]  # no noise of their own


@pytest.mark.parametrize("entry", DETERMINISTIC, ids=lambda e: e["name"])
def test_the_masked_path_equals_the_chosen_rows_path(entry: dict) -> None:
    """Every row computed and the chosen ones kept (accelerators) gives the chosen rows' result from the same draws
    (up to the FFT's rounding, which depends on how many rows it transforms), and the other rows untouched."""
    entry = {**entry, "p": 0.5} if entry["name"] != "crop" else entry
    x = 0.1 * torch.randn(8, SR)
    out = {}
    for masked in (False, True):
        torch.manual_seed(4)
        out[masked] = BatchAugment(parse([entry]), SR, masked=masked)(x)
    torch.testing.assert_close(out[True], out[False], rtol=1e-5, atol=1e-6)
    if entry["name"] != "crop":
        changed = (out[True] != x).any(dim=1)
        assert torch.equal(changed, (out[False] != x).any(dim=1))
        assert 0 < int(changed.sum()) < 8  # some rows chosen, some not, at this seed


def test_the_masked_path_keeps_noise_to_the_chosen_rows_and_is_seeded() -> None:
    chain = BatchAugment(parse([{"name": "noise", "p": 0.5}, {"name": "reverb", "p": 0.5}]), SR, masked=True)
    x = 0.1 * torch.randn(64, SR)
    torch.manual_seed(2)
    a = chain(x)
    torch.manual_seed(2)
    b = chain(x)
    assert torch.equal(a, b)
    untouched = (a == x).all(dim=1)
    assert 5 < int(untouched.sum()) < 30  # about a quarter of the rows drew neither
    torch.manual_seed(2)
    chosen_rows = BatchAugment(chain.transforms, SR, masked=False)(x)
    assert torch.equal(untouched, (chosen_rows == x).all(dim=1))  # the same draws chose the same rows


def test_the_masked_path_reads_nothing_back_from_the_device() -> None:
    """On "meta" tensors (shapes, no values) any value read back to the host raises, and so does a shape that
    depends on values: the whole vocabulary runs there, so an accelerator never waits on the chain's values."""
    chain = BatchAugment(parse([{**e, "p": 0.5} if e["name"] != "crop" else e for e in EVERY]), SR)
    x = torch.empty(16, SR, device="meta")
    assert chain(x).shape == (16, 8000)
    with pytest.raises((RuntimeError, NotImplementedError)):  # the test has power: the other path does read back
        BatchAugment(chain.transforms, SR, masked=False)(x)
