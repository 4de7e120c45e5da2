"""Two "nodes" on 127.0.0.1: torchrun --nnodes 2 --nproc_per_node 1 with a c10d rendezvous, gloo, pre-training
SimCLR on the streamed shards. Every clip is trained once per epoch across the ranks, and the first step's loss and
gradients equal one process's on the two ranks' batches concatenated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from ssl_mir.pretext import SimCLR
from tests.conftest import free_port
from tests.test_cli import CONFIGS, data_args

TRANSFORMER = {"class_path": "ssl_mir.encoders.PatchTransformer",
               "init_args": {"n_mels": 32, "dim": 16, "heads": 2, "depth": 1, "patch_freq": 8}}


class RecordSteps(pl.Callback):
    """Test-only: each rank writes the clips of every batch of the first epoch, and the first step's batch (after its
    device-side augmentation), starting weights, loss and (all-reduced) gradients."""

    def __init__(self, out: str) -> None:
        self.out, self.clips, self.first = Path(out), [], {}

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: dict, i: int) -> None:
        if trainer.current_epoch == 0:
            self.clips.extend(batch["index"].tolist())
        if trainer.global_step == 0:
            self.first = {"views": batch["views"].clone(),
                          "weights": {k: v.clone() for k, v in pl_module.state_dict().items()}}

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: object) -> None:
        if trainer.global_step == 0:
            self.first["grads"] = {n: p.grad.clone() for n, p in pl_module.named_parameters() if p.grad is not None}

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: dict, *args: object) -> None:
        if trainer.global_step == 1:
            self.first["loss"] = outputs["loss"].detach().clone()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == 0:
            torch.save({"clips": self.clips, **self.first}, self.out / f"rank{trainer.global_rank}.pt")


@pytest.mark.slow
def test_two_torchrun_nodes_stream_each_clip_once_and_match_one_process(corpus: Path, corpus_shards: Path,
                                                                       tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1", "--rdzv_backend",
        "c10d", "--rdzv_endpoint", f"127.0.0.1:{port}", "--rdzv_id", "two-nodes", "-m", "ssl_mir.cli", "pretrain",
        "-c", CONFIGS / "trainer" / "ddp_multinode.yaml", "-c", CONFIGS / "data" / "synthetic.yaml",
        "-c", CONFIGS / "pretrain" / "simclr_cnn2d.yaml", *data_args(corpus), "--data.manifest", "null",
        "--data.streaming", corpus_shards, "--data.split", "null", "--data.num_workers", "2",
        "--data.crop_samples", "8000", "--model.init_args.encoder", json.dumps(TRANSFORMER),
        "--trainer.accelerator", "cpu", "--trainer.devices", "1", "--trainer.num_nodes", "2",
        "--trainer.sync_batchnorm", "false", "--trainer.precision", "32-true", "--trainer.max_epochs", "1",
        "--trainer.callbacks+", "tests.test_multinode.RecordSteps", "--trainer.callbacks.out", tmp_path,
        "--trainer.default_root_dir", tmp_path / "run"]
    env = {k: v for k, v in os.environ.items() if k not in ("MASTER_PORT", "MASTER_ADDR", "RANK", "WORLD_SIZE")}
    nodes = [subprocess.Popen([str(c) for c in command], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]

    assert sorted(ranks[0]["clips"] + ranks[1]["clips"]) == list(range(48))  # 2 ranks × 2 workers × 3 batches of 4
    assert len(ranks[0]["clips"]) == len(ranks[1]["clips"]) == 24

    single = SimCLR(_encoder(), projection_dim=128, temperature=0.1)
    single.load_state_dict(ranks[0]["weights"])
    views = torch.cat([ranks[0]["views"], ranks[1]["views"]])  # (2B, 2, S)
    loss = single.training_step({"views": views}, 0)
    loss.backward()
    torch.testing.assert_close((ranks[0]["loss"] + ranks[1]["loss"]) / 2, loss.detach(), rtol=1e-5, atol=1e-6)
    for name, p in single.named_parameters():
        for rank in ranks:
            torch.testing.assert_close(rank["grads"][name], p.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert not torch.isclose(ranks[0]["loss"], ranks[1]["loss"])  # each rank's own loss differs


def _encoder() -> torch.nn.Module:
    from ssl_mir.encoders import PatchTransformer

    return PatchTransformer(**TRANSFORMER["init_args"])
