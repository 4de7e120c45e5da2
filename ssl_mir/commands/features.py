"""`ssl-mir targets` and `ssl-mir stats`: what a method needs measured on unlabeled crops before it trains."""

from __future__ import annotations

from pathlib import Path

import torch
from jsonargparse import ActionConfigFile, ArgumentParser

from ssl_mir.data.datamodules import PretrainDataModule
from ssl_mir.pretext.base import PretextModule
from ssl_mir.progress import progress


def targets(args: list[str]) -> None:
    """Fit k-means on token features (log-mel, MFCC or CQT) of unlabeled crops and save the centroids: targets for
    BestRQ's `targets:` (HuBERT's first iteration, MERT's k-means teacher)."""
    from ssl_mir.encoders.transformer import PatchTransformer
    from ssl_mir.pretext.targets import Feature, TokenFeatures, kmeans, save_targets

    parser = ArgumentParser(prog="ssl-mir targets", description=targets.__doc__, default_env=False)
    parser.add_argument("-c", "--config", action=ActionConfigFile)
    parser.add_subclass_arguments(PatchTransformer, "encoder", help="the patch geometry (only its front end is used)")
    parser.add_class_arguments(PretrainDataModule, "data")
    parser.add_argument("--feature", type=Feature, default="mfcc")
    parser.add_argument("--k", type=int, default=256, help="centroids (HuBERT: 100 on MFCC)")
    parser.add_argument("--max_patches", type=int, default=200_000, help="patches sampled for fitting")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=str, required=True, help="folder for centroids.safetensors and targets.json")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    encoder, data = cfg.encoder, cfg.data
    token_features = TokenFeatures(cfg.feature, encoder)
    torch.manual_seed(cfg.seed)
    loader = data.plain_crops()
    features: list[torch.Tensor] = []
    with torch.no_grad():
        while sum(map(len, features)) < cfg.max_patches:  # passes over the corpus draw new random crops
            for batch in progress(loader, f"token features, pass {len(features) // len(loader) + 1}"):
                wave = batch["views"][:, 0]  # (B, S)
                patches, grid = encoder.patches(wave)  # (B, N, P)
                features.append(token_features(wave, patches, grid).flatten(0, 1))  # (B·N, d)
    x = torch.cat(features)[: cfg.max_patches]
    centroids = kmeans(x, cfg.k, cfg.iterations, cfg.seed)
    print(save_targets(centroids, cfg.feature, encoder, cfg.out, {"patches": len(x), "manifest": data.manifest_path}))


def stats(args: list[str]) -> None:
    """Measure the normalisation statistics of a method's encoder front end on unlabeled crops; write them as a
    YAML to compose after the method's (`-c stats.yaml`), so that they become encoder buffers."""
    import yaml

    from ssl_mir.stats import frontend_stats, stats_config

    parser = ArgumentParser(prog="ssl-mir stats", description=stats.__doc__, default_env=False)
    parser.add_argument("-c", "--config", action=ActionConfigFile)
    parser.add_subclass_arguments(PretextModule, "model")
    parser.add_class_arguments(PretrainDataModule, "data")
    parser.add_argument("--trainer", type=dict, default={}, help="ignored (accepted for shared configs)")
    parser.add_argument("--max_batches", type=int, default=20)
    parser.add_argument("--out", type=str, required=True, help="the YAML to write")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    torch.manual_seed(0)
    batches = progress(cfg.data.plain_crops(), f"front-end statistics of {cfg.max_batches} batches", cfg.max_batches)
    waves = (b["views"][:, 0] for b in batches)
    mean, std = frontend_stats(cfg.model.encoder, waves, cfg.max_batches)
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    Path(cfg.out).write_text(yaml.safe_dump(stats_config(cfg.model.encoder, mean, std), sort_keys=False))
    print(f"mean {mean:.4f}, std {std:.4f} → {cfg.out}")
