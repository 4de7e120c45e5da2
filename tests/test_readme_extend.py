"""The README's "Add your own method or encoder" does what it says: its `my_mir.py` and its commands, run as they
are, with only fewer steps and the test's corpus and folders."""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def block(marker: str) -> str:
    """The fenced code block that follows `<!-- marker -->` in the README."""
    text = (ROOT / "README.md").read_text()
    return re.search(rf"<!-- {re.escape(marker)} -->\n```\w+\n(.*?)```", text, re.S).group(1)


def test_the_readme_extension_runs(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "my_mir.py").write_text(block("my_mir.py"))
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    commands = [shlex.split(c) for c in block("my_mir commands").replace("\\\n", " ").splitlines()
                if c.startswith("ssl-mir ")]
    assert [c[1] for c in commands] == ["pretrain", "probe"]
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin", "WANDB_MODE": "disabled"}
    fast = {"pretrain": ["--trainer.max_steps", "3", "--data.manifest", str(corpus), "--data.num_workers", "0",
                         "--data.batch_size", "8", "--log_to", "csv"],
            "probe": ["--data.manifest", str(corpus), "--data.num_workers", "0", "--probe.seeds", "[0]",
                      "--probe.max_epochs", "2", "--data.chunk_samples", "16000"]}
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "ssl_mir.cli", *command[1:], *fast[command[1]]], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    with open(tmp_path / "runs" / "mine" / "probe" / "results.csv") as f:
        encoders = {r["encoder"] for r in csv.DictReader(f)}
    assert encoders == {"runs/mine/encoder", "random:runs/mine/encoder", "mfcc"}
    untrusted = subprocess.run([sys.executable, "-m", "ssl_mir.cli", *commands[1][1:-2], *fast["probe"],
                                "--out", "runs/mine/untrusted"], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=600, check=False)
    assert untrusted.returncode == 2 and "--trust my_mir" in untrusted.stderr
