"""One live run per run folder: an advisory `flock` on `<folder>/.lock`, held by rank 0 for the run's lifetime.

The kernel drops the lock when its process dies, however it dies (SIGKILL, OOM, node loss), so a crashed run never
leaves a stale lock behind, and `--ckpt_path` can resume in the same folder at once.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

LOCK_NAME = ".lock"
_held: list[IO[str]] = []


class RunFolderInUseError(RuntimeError):
    """Another live process holds the run folder."""


def is_rank_zero() -> bool:
    """Whether this process is the job's global rank 0 (torchrun, SLURM and Lightning's launcher set these)."""
    if "RANK" in os.environ:
        return os.environ["RANK"] == "0"
    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def hold(folder: str | Path) -> None:
    """Lock `folder` for this process until `released()` ends; raise `RunFolderInUseError` if a live run holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 (held open: closing it releases the lock)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        raise RunFolderInUseError(f"{folder} is in use by a live run ({owner}); give this run another "
                                  f"--trainer.default_root_dir, or wait for that one to end") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {os.uname().nodename}\n")
    handle.flush()
    _held.append(handle)


@contextmanager
def released() -> Iterator[None]:
    """Release every lock taken by `hold` inside this block when it ends, normally or by an exception."""
    start = len(_held)
    try:
        yield
    finally:
        while len(_held) > start:
            _held.pop().close()
