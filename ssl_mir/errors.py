"""Errors that end a run and that the `ssl-mir` command turns into one line on stderr: kept free of heavy imports,
so that the command can name them before it loads torch."""

from __future__ import annotations


class RunFailedError(RuntimeError):
    """The run cannot go on and must not be taken for a success (divergence, collapse)."""
