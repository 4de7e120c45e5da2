"""Progress bars for the long steps of the commands (corpus writing, the manifest check, the decoded cache,
embedding, k-means features, statistics): rich's, on stderr, beside the log."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")
CONSOLE = Console(stderr=True)  # on a terminal: a live bar; elsewhere (CI logs) one line when the step ends


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Yield `items` while a bar shows how many of `total` (default: len(items)) have gone by."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=CONSOLE) as bar:
        yield from bar.track(items, total=total, description=description)
