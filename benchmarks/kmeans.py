"""k-means for `ssl-mir targets`: `ssl_mir.pretext.targets.kmeans` (the default) against scikit-learn's KMeans
called directly and faiss (when installed: its default fits a sample of 256 points per centroid; also on every
point), on the same features: seconds and inertia over all the points, in one run.

    .venv/bin/python benchmarks/kmeans.py [--n 50000 --d 13 --k 128]   # the issue's point; CLI default: 200000, 256

Features are a mixture of k Gaussian blobs in d dimensions (seeded), like MFCC patches in scale.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def inertia(x: np.ndarray, centroids: np.ndarray) -> float:
    """Sum of squared distances of the points to their nearest centroid."""
    best = np.full(len(x), np.inf)
    for start in range(0, len(centroids), 64):
        c = centroids[start:start + 64]
        best = np.minimum(best, ((x[:, None, :] - c[None]) ** 2).sum(-1).min(1))
    return float(best.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=13)
    parser.add_argument("--k", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (args.k, args.d))
    x = (centres[rng.integers(args.k, size=args.n)] + rng.normal(0, 1, (args.n, args.d))).astype(np.float32)
    from sklearn.cluster import KMeans

    from ssl_mir.pretext.targets import kmeans

    runs = {"ssl_mir (default)": lambda: kmeans(torch.from_numpy(x), args.k, args.iterations, 0).numpy(),
            "scikit-learn": lambda: KMeans(args.k, n_init=1, max_iter=args.iterations, random_state=0).fit(x)
            .cluster_centers_}
    try:
        import faiss

        def with_faiss(points_per_centroid: int) -> np.ndarray:
            index = faiss.Kmeans(args.d, args.k, niter=args.iterations, seed=0,
                                 max_points_per_centroid=points_per_centroid)
            index.train(x)
            return index.centroids

        runs["faiss (its default)"] = lambda: with_faiss(256)  # fits on a sample of 256 points per centroid
        runs["faiss (all points)"] = lambda: with_faiss(len(x))
    except ImportError:
        print("faiss: not installed (pip install faiss-cpu)")
    print(f"{args.n} × {args.d}, k = {args.k}, at most {args.iterations} iterations, {torch.get_num_threads()} threads")
    for name, run in runs.items():
        start = time.perf_counter()
        centroids = run()
        seconds = time.perf_counter() - start
        print(f"{name:<20} {seconds:7.2f} s   inertia {inertia(x, np.asarray(centroids, dtype=np.float64)):.4e}")


if __name__ == "__main__":
    main()
