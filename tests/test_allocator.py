"""The allocator setting every `ssl-mir` command applies (ssl_mir.allocator): large buffers freed by one step are
reused by the next without faulting their pages in again; SSL_MIR_MALLOC=default opts out."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import ssl_mir.cli as cli

FAULTS = """
import resource
import torch
from ssl_mir.allocator import keep_freed_memory
applied = keep_freed_memory()
torch.set_num_threads(1)  # helper threads' own arenas would add their small heaps to the count
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
counts = []
for _ in range(12):  # a step's activations: 256 MB allocated, written, freed
    before = faults()
    torch.ones(1 << 26).sum()
    counts.append(faults() - before)
print(applied, min(counts[4:]))  # the heap grows for the first few buffers, then settles
"""


def faults_per_buffer(**env: str) -> tuple[bool, int]:
    out = subprocess.run([sys.executable, "-c", FAULTS], env={**os.environ, **env}, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_freed_buffers_are_reused_without_page_faults() -> None:
    applied, kept = faults_per_buffer()
    opted_out, default = faults_per_buffer(SSL_MIR_MALLOC="default")
    assert applied and not opted_out
    assert default > 1000 and kept < default / 100  # glibc's default maps and faults 256 MB in again every time


def test_every_command_applies_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: calls.append(1))
    monkeypatch.setitem(cli.COMMANDS, "noop", cli.Command("corpus", "nothing"))
    monkeypatch.setattr(cli, "command", lambda name: lambda args: calls.append(args))
    cli.main(["noop", "--x"])
    assert calls == [1, ["--x"]]
