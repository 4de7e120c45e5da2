"""ssl_mir: self-supervised pre-training and linear evaluation of music audio encoders.

`embed`, `load_encoder` and `save_encoder` are imported on first use (PEP 562), so that importing a light part of the
package (the command line's help, the corpus writers) does not load torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "embed", "load_encoder", "save_encoder"]
_LAZY = {"embed": "ssl_mir.evaluation.embeddings", "load_encoder": "ssl_mir.export", "save_encoder": "ssl_mir.export"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ssl_mir' has no attribute '{name}'")
