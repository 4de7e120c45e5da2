"""A training step queues its work on an accelerator without waiting for it: nothing in it reads a value back to the
host or copies from the host with waiting (issue 16: on a GPU each such wait keeps the host from queueing the next
kernels). Checked without a GPU by `benchmarks/step_dispatch.py`'s counts on "meta" tensors (shapes, no values),
where a read-back cannot run at all."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
# One config per method and encoder family; the others differ from these in hyper-parameters only.
CONFIGS = ["simclr_cnn2d", "simclr_samplecnn", "cola_crnn", "byola_crnn", "mae_transformer", "bestrq_transformer",
           "m2d_transformer", "simclr_cola_cnn2d", "stone_chromanet", "simclr_stone_twopart"]


@pytest.fixture
def step_dispatch(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    monkeypatch.chdir(ROOT)  # the configs' paths
    return importlib.import_module("step_dispatch")


@pytest.mark.parametrize("config", CONFIGS)
def test_the_default_configs_step_never_waits_for_the_device(config: str, step_dispatch: ModuleType) -> None:
    cli = step_dispatch.configured(["-c", "configs/data/synthetic.yaml", "-c", f"configs/pretrain/{config}.yaml"])
    data = cli.datamodule
    views = step_dispatch.random_views(2, data.n_views, data.crop_samples, torch.device("cpu"))
    counts = step_dispatch.meta_counts(cli.model.train(), views)  # raises at a read-back
    assert counts["device kernels"] > 50
    assert counts["copies to the device, waiting (syncs)"] == 0


def test_the_counts_catch_a_read_back_and_a_waiting_copy(step_dispatch: ModuleType) -> None:
    """The harness can fail: a boolean selection and `.item()` are counted on the CPU, and on "meta" they raise; a
    table copied from the host each step is counted as a waiting copy."""
    x = torch.randn(8, 4)
    with step_dispatch.ReadBacks() as reads:
        x[x > 0].sum().item()
    assert sorted(place.split(" at ")[0] for place in reads.places.elements()) == ["_local_scalar_dense.default",
                                                                                   "index.Tensor"]
    with pytest.raises(RuntimeError):
        y = x.to("meta")
        y[y > 0].sum()
    with step_dispatch.CountKernels() as mode:
        x.to("meta") + torch.ones(4).to("meta")
    assert mode.counts["copies to the device, waiting (syncs)"] == 2
