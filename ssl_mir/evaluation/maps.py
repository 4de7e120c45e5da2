"""Pictures of the embeddings: for each task, the test clips of every encoder mapped to two dimensions by t-SNE
(van der Maaten & Hinton, JMLR 2008; scikit-learn's), one panel per encoder, each clip a dot coloured by its label.
Clips are the mean of their chunks' embeddings (the encoder's output, pooled as the probes pool it); `random:`
encoders are their seed-0 draw; `supervised:` ones are trained per cell and have no single embedding, so none is
drawn. Multilabel tasks are coloured by their first label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from ssl_mir.atomic import write_atomic
from ssl_mir.data.datamodules import LabeledDataModule
from ssl_mir.data.tasks import split_labels
from ssl_mir.evaluation.baselines import SUPERVISED_PREFIX, resolve_encoder
from ssl_mir.evaluation.cache import cached_extract
from ssl_mir.evaluation.embeddings import ChunkEmbeddings
from ssl_mir.evaluation.sweep import Sweep


def clip_means(embeddings: ChunkEmbeddings) -> np.ndarray:
    """(N_clips, D): the mean of each clip's chunk embeddings."""
    clips = int(embeddings.clip.max()) + 1
    sums = torch.zeros(clips, embeddings.x.shape[1]).index_add_(0, embeddings.clip, embeddings.x.float())
    return (sums / torch.bincount(embeddings.clip, minlength=clips)[:, None]).numpy()


def tsne(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) → (N, 2), features standardised first."""
    from sklearn.manifold import TSNE

    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    return TSNE(2, perplexity=min(30.0, max(2.0, (len(x) - 1) / 3)), init="pca", random_state=seed).fit_transform(x)


def write_maps(sweep: Sweep, data: LabeledDataModule, out: Path, cache_dir: str | Path | None,
               device: str | None = None) -> list[Path]:
    """`out/map_<task>.png` for every task of the sweep; returns the paths written."""
    specs = [s for s in sweep.encoders if not s.startswith(SUPERVISED_PREFIX)]
    points: dict[str, np.ndarray] = {}
    paths = []
    for task in sweep.task_names(data):
        task_data = data.derive(target=task, label_fraction=1.0, chunk_samples=sweep.chunk_samples(data, task))
        labels = [(split_labels(r.labels.get(task, "")) or [""])[0] for r in task_data.rows("test")]
        figure = Figure(figsize=(4 * len(specs), 4))
        for ax, spec in zip(figure.subplots(1, len(specs), squeeze=False)[0], specs):
            ax.set_title(spec, fontsize="small")
            ax.set_xticks([])
            ax.set_yticks([])
            key = f"{spec}|{task_data.chunk_samples}"
            if key not in points:
                encoder = resolve_encoder(spec, 0, data.sample_rate)
                points[key] = tsne(clip_means(cached_extract(encoder, task_data.chunk_dataset("test"), cache_dir,
                                                             data.batch_size, data.num_workers, device,
                                                             sweep.probe.pooling)))
            if data.task_kinds[task] == "regression":
                dots = ax.scatter(*points[key].T, s=10, c=[float(v) for v in labels], cmap="viridis")
                figure.colorbar(dots, ax=ax)
                continue
            for label in sorted(set(labels)):
                chosen = [i for i, value in enumerate(labels) if value == label]
                ax.scatter(*points[key][chosen].T, s=10, label=label)
        if data.task_kinds[task] != "regression":
            figure.axes[len(specs) - 1].legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
        figure.suptitle(f"{task}: test clips, t-SNE of the clip embeddings")
        figure.tight_layout()
        path = out / f"map_{task}.png"
        write_atomic(path, lambda tmp, f=figure: f.savefig(tmp, dpi=100, format="png"))
        paths.append(path)
    return paths
