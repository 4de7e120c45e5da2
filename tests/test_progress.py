"""The long steps show a progress bar (rich, on stderr): corpus writing, the manifest check, the decoded cache and
embedding."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from ssl_mir import progress as progress_module
from ssl_mir.data.datasets import ChunkDataset
from ssl_mir.data.decoded import DecodedCache
from ssl_mir.data.manifest import Manifest
from ssl_mir.data.synthetic import synthesize
from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.evaluation.embeddings import extract_frames


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the bars draw, as a terminal would show it."""
    out = io.StringIO()
    monkeypatch.setattr(progress_module, "CONSOLE", Console(file=out, force_terminal=True, width=120))
    return out


def test_synth_check_cache_and_embed_show_their_progress(screen: io.StringIO, tmp_path: Path) -> None:
    manifest = synthesize(tmp_path / "corpus", n=4, seed=0, duration=1.0)
    assert "synth: 4 clips" in screen.getvalue() and "4/4" in screen.getvalue()
    rows = Manifest.load(str(manifest)).check("raise").rows
    assert "checking 4 files" in screen.getvalue()
    DecodedCache(tmp_path / "cache", 16000).build([r.path for r in rows])
    assert "decoded cache: 4 files" in screen.getvalue()
    extract_frames(ShortChunkCNN(channels=[4, 8], n_mels=16), ChunkDataset(rows, 16000, 8000), batch_size=2)
    assert "embedding 4 files" in screen.getvalue()


def test_the_bar_counts_what_went_by(screen: io.StringIO) -> None:
    assert list(progress_module.progress(iter(range(7)), "seven things", total=7)) == list(range(7))
    assert "seven things" in screen.getvalue() and "7/7" in screen.getvalue()
