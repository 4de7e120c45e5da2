"""How well a STONE encoder estimates key on its own: its clip-level distribution over 12 key signatures (summed
over its two modes), rotated by the one offset that fits the training split best (the only use of labels: which
class a self-supervised model calls C is arbitrary), scored against the labeled key's signature (a minor key's is its
relative major's), exactly and within a fifth; and the first mode channel's mean mass on major and minor excerpts.

    python benchmarks/key_signature.py runs/stone800/encoder --manifest data/pieces/manifest.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch

from ssl_mir.data.audio import read_audio
from ssl_mir.data.keys import parse_key
from ssl_mir.export import load_encoder


def signature(label: str) -> int:
    """The key signature of a key label, as its relative major's tonic pitch class."""
    parsed = parse_key(label)
    if parsed is None:
        raise ValueError(f"not a key: {label!r}")
    tonic, mode = parsed
    return tonic if mode == "major" else (tonic + 3) % 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("encoder")
    parser.add_argument("--manifest", default="data/pieces/manifest.csv")
    args = parser.parse_args()
    encoder = load_encoder(args.encoder)
    rows = list(csv.DictReader(open(args.manifest)))
    found: dict[str, list[tuple[np.ndarray, int, bool]]] = {"train": [], "test": []}
    with torch.no_grad():
        for r in rows:
            if r["split"] in found:
                wave = read_audio(str(Path(args.manifest).parent / r["path"]), encoder.sample_rate)[None]
                y = torch.softmax(encoder.key_logits(encoder(wave)).flatten(), 0).view(2, 12).numpy()
                found[r["split"]].append((y, signature(r["key"]), r["key"].endswith("major")))
    guess = {s: np.array([int(y.sum(0).argmax()) for y, _, _ in v]) for s, v in found.items()}
    truth = {s: np.array([g for _, g, _ in v]) for s, v in found.items()}
    rotation = max(range(12), key=lambda k: float(np.mean((guess["train"] + k) % 12 == truth["train"])))
    for split, data in found.items():
        off = (guess[split] + rotation - truth[split]) % 12
        first = np.array([y[0].sum() for y, _, _ in data])
        major = np.array([m for _, _, m in data])
        print(f"{split}: {len(data)} excerpts, signature {np.mean(off == 0):.3f}, within a fifth "
              f"{np.mean(np.isin(off, [0, 5, 7])):.3f}; first mode channel's mass on major {first[major].mean():.3f}, "
              f"on minor {first[~major].mean():.3f} ({np.mean(~major):.0%} minor)")


if __name__ == "__main__":
    main()
