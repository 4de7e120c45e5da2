"""How well a PESTO encoder estimates pitch on its own: each note's distribution over the PitchNet's output bins,
averaged over the frames while the key is held, read at its peak, plus the one offset in bins that fits the training
split best (the only use of labels: which bin a self-supervised model calls C is arbitrary), scored against the MIDI
pitch: raw pitch accuracy (within half a semitone), within a semitone and octave errors, per split.

    python benchmarks/pitch_readout.py runs/pesto/encoder --manifest data/notes/manifest.csv
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch

from ssl_mir.data.audio import read_audio
from ssl_mir.export import load_encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("encoder")
    parser.add_argument("--manifest", default="data/notes/manifest.csv")
    parser.add_argument("--held", type=float, default=0.75, help="seconds the key is held (the corpus's default)")
    parser.add_argument("--per_split", type=int, default=1000, help="notes read per split, evenly spaced")
    args = parser.parse_args()
    encoder = load_encoder(args.encoder).eval()
    rows = list(csv.DictReader(open(args.manifest)))
    peaks: dict[str, list[tuple[float, int]]] = {}
    with torch.no_grad():
        for split in ("train", "valid", "test"):
            chosen = [r for r in rows if r["split"] == split]
            chosen = chosen[:: max(1, len(chosen) // args.per_split)]
            for r in chosen:
                wave = read_audio(str(Path(args.manifest).parent / r["path"]), encoder.sample_rate)[None]
                y = encoder(wave)[0, : int(args.held * encoder.frame_rate)].mean(0)  # (out_bins,)
                bin_ = float(y.argmax())
                peaks.setdefault(split, []).append((bin_ / encoder.bins_per_semitone, int(r["pitch"])))
    train = np.array(peaks["train"])
    offsets = np.arange(-128, 129)
    offset = offsets[int(np.argmax([np.mean(np.abs(train[:, 0] - o - train[:, 1]) < 0.5) for o in offsets]))]
    for split, found in peaks.items():
        est, midi = np.array(found).T
        error = est - offset - midi
        octave = np.abs(np.abs(error) - 12 * np.round(np.abs(error) / 12)) < 0.5
        print(f"{split}: {len(found)} notes, raw pitch accuracy {np.mean(np.abs(error) < 0.5):.3f}, within a "
              f"semitone {np.mean(np.abs(error) < 1.0):.3f}, octave errors {np.mean(octave & (np.abs(error) >= 6)):.3f}")


if __name__ == "__main__":
    main()
