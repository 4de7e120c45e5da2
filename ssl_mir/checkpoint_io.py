"""Lightning checkpoints that are whole or absent (`atomic.write_atomic`), and named when they cannot be read."""

from __future__ import annotations

from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from ssl_mir.atomic import CorruptFileError, write_atomic


UNREADABLE = (RuntimeError, EOFError, OSError)  # what torch.load raises for a truncated or garbled file


def unreadable(path: Any, err: BaseException) -> CorruptFileError:
    return CorruptFileError(f"{path}: not a readable checkpoint, truncated or corrupt ({err})")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoints written by `write_atomic`; a checkpoint that cannot be read is an error naming it."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        write_atomic(path, lambda tmp: torch.save(checkpoint, tmp))

    def load_checkpoint(self, path: Any, map_location: Any = lambda storage, loc: storage,
                        weights_only: bool | None = None) -> dict[str, Any]:
        try:
            return super().load_checkpoint(path, map_location, weights_only)
        except FileNotFoundError:
            raise
        except UNREADABLE as err:
            raise unreadable(path, err) from err
