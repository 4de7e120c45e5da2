"""Files that are whole or absent: written to a temporary file in the target's own folder, fsynced, then renamed.

A rename within one filesystem is atomic, so a crash, a kill or a full disk mid-write leaves the previous file
intact (Lightning's own atomic save writes through fsspec's temporary file in $TMPDIR, which is a copy, not a
rename, when the run folder is on another filesystem). Checkpoints go through `checkpoint_io.AtomicCheckpointIO`;
exported encoders, the embedding cache and the comparison's reports through `write_atomic`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


class WriteFailedError(OSError):
    """A file could not be written; the previous version, if any, is intact."""


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Run `write(tmp)` on a temporary path beside `path`, fsync it, then rename it over `path`.

    Raises:
        WriteFailedError: the write failed (a full disk, say); the message names the file, and `path` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        kept = "the previous file is intact" if path.exists() else "nothing was written"
        raise WriteFailedError(err.errno, f"{path}: could not write ({err.strerror or err}); {kept}") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """`write_atomic` of a UTF-8 text file."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


class CorruptFileError(ValueError):
    """A checkpoint or artifact that exists but cannot be read: truncated or not what its name says."""
