"""Does training a key probe on all 12 transpositions of its clips help, and does it help a learnt encoder more than
chroma statistics? Korzeniowski & Widmer (2018) train key classifiers on pitch-shifted copies; for features that are
pitch-class profiles (chroma statistics, every hidden state of ChromaNet: feature c's class q at c · 12 + q, mean
then std) a transposition by k semitones is a roll of each group of 12 by k, and the key label's tonic moves by k.

Multinomial logistic regression (scikit-learn) on clip-level features from `compare`'s embedding cache (run the
compare first, whole 6 s excerpts), its inverse regularisation chosen on the validation split; clips per class drawn
per seed as `compare --shots` does not (a plain permutation), so the absolute figures are close to, not equal to, a
report's. Prints the test accuracy without and with the 12 transpositions per budget.

    python benchmarks/transposed_probe.py chroma -1
    python benchmarks/transposed_probe.py runs/g_stone/encoder 5 --seeds 1 --cs 0.1 1
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression

from ssl_mir.data.keys import parse_key
from ssl_mir.data.labeled import LabeledDataModule
from ssl_mir.evaluation.baselines import resolve_encoder
from ssl_mir.evaluation.cache import cached_extract


def clip_features(spec: str, layer: int, manifest: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per split: clip features (N, D), the mean of their chunks' pooled layer, and key classes (N,), tonic + 12 ·
    minor."""
    data = LabeledDataModule(manifest, {"key": "multiclass"}, "key", chunk_samples=96000, num_workers=2)
    data.setup("fit")
    encoder = resolve_encoder(spec, 0, 16000)
    xs, ys = {}, {}
    for split in ("train", "valid", "test"):
        chunks = cached_extract(encoder, data.chunk_dataset(split), "runs/embedding_cache", 32, 2, "cpu", "mean_std")
        x, clip = chunks.features(layer).numpy(), chunks.clip.numpy()
        xs[split] = np.stack([x[clip == c].mean(0) for c in range(clip.max() + 1)])
        keys = [parse_key(row.labels["key"]) for row in data.rows(split)]
        ys[split] = np.array([tonic + 12 * (mode == "minor") for tonic, mode in keys])
    return xs, ys


def transposed(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 12 transpositions of pitch-class features (N, 12 · G) and their key classes."""
    rolled = [np.roll(x.reshape(len(x), -1, 12), k, axis=2).reshape(len(x), -1) for k in range(12)]
    return np.concatenate(rolled), np.concatenate([(y % 12 + k) % 12 + 12 * (y // 12) for k in range(12)])


def score(xs: dict, ys: dict, train: np.ndarray, augment: bool, cs: list[float]) -> float:
    x, y = xs["train"][train], ys["train"][train]
    if augment:
        x, y = transposed(x, y)
    mean, std = x.mean(0), x.std(0) + 1e-6
    fits = [LogisticRegression(C=c, max_iter=2000).fit((x - mean) / std, y) for c in cs]
    best = max(fits, key=lambda f: f.score((xs["valid"] - mean) / std, ys["valid"]))
    return float(best.score((xs["test"] - mean) / std, ys["test"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("encoder")
    parser.add_argument("layer", type=int)
    parser.add_argument("--manifest", default="data/pieces/manifest.csv")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cs", type=float, nargs="+", default=[0.01, 0.1, 1.0, 10.0])
    args = parser.parse_args()
    xs, ys = clip_features(args.encoder, args.layer, args.manifest)
    if xs["train"].shape[1] % 12:
        raise SystemExit(f"layer {args.layer} has {xs['train'].shape[1]} features: not groups of 12 pitch classes")
    for shots in (5, 20, None):
        for augment in (False, True):
            accs = []
            for seed in range(args.seeds):
                rng = np.random.default_rng(seed)
                train = (np.concatenate([rng.permutation(np.flatnonzero(ys["train"] == c))[:shots] for c in range(24)])
                         if shots else np.arange(len(ys["train"])))
                accs.append(score(xs, ys, train, augment, args.cs))
            budget = f"{shots} shots" if shots else "100 %"
            print(f"{args.encoder} layer {args.layer}, {budget}, {'12 transpositions' if augment else 'as is'}: "
                  f"{np.mean(accs):.3f}", flush=True)


if __name__ == "__main__":
    main()
