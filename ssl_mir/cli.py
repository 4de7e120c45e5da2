"""`ssl-mir`: pretrain | supervised | probe | compare | embed | synth | shard | manifest | targets | stats | export.

pretrain and supervised are LightningCLI `fit` runs; the others are plain jsonargparse commands.
Configs compose with `-c`: trainer YAML (devices, precision, strategy), data YAML, method YAML.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Optional

import torch
from jsonargparse import ActionConfigFile, ArgumentParser
from pytorch_lightning import Trainer
from pytorch_lightning.cli import LightningArgumentParser
from pytorch_lightning.utilities.exceptions import SIGTERMException

from ssl_mir.atomic import WriteFailedError
from ssl_mir.data.datamodules import LabeledDataModule, PretrainDataModule
from ssl_mir.evaluation.supervised import Supervised
from ssl_mir.guard import RunFailedError
from ssl_mir.pretext.base import PretextModule
from ssl_mir.runlock import RunFolderInUseError, released
from ssl_mir.training_cli import lightning

COMMANDS = ("pretrain", "supervised", "probe", "compare", "embed", "synth", "shard", "manifest", "targets", "stats",
            "export")


def pretrain(args: list[str]) -> None:
    """Self-supervised pre-training; the encoder is exported to <default_root_dir>/encoder at the end."""
    with released():
        lightning(PretextModule, PretrainDataModule, args, "runs/pretrain", "pretrain")


def supervised(args: list[str]) -> None:
    """End-to-end supervised training on one task, then a clip-level test of the final weights."""
    with released():
        cli = lightning(Supervised, LabeledDataModule, args, "runs/supervised", "supervised")
        if not cli.trainer.fast_dev_run:
            cli.trainer.test(cli.model, datamodule=cli.datamodule)


class _LazyFileHandler(logging.FileHandler):
    """A FileHandler that makes its folder when the first record comes."""

    def _open(self):  # type: ignore[no-untyped-def]
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


@contextmanager
def log_to_file(path: Path) -> Iterator[None]:
    """ssl_mir's INFO log (each finished cell of a sweep, cache hits) appended to `path` while the block runs."""
    handler = _LazyFileHandler(path, delay=True)  # a config error leaves no folder behind
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("ssl_mir")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


def _evaluation_parser(command: object, default_out: str) -> LightningArgumentParser:
    """The arguments probe and compare share: encoders, data, probe protocol, trainer, output and cache folders."""
    from ssl_mir.evaluation.probe import ProbeConfig

    name = command.__name__  # type: ignore[attr-defined]
    parser = LightningArgumentParser(prog=f"ssl-mir {name}", description=command.__doc__, default_env=False)
    parser.add_argument("-c", "--config", action=ActionConfigFile)
    parser.add_argument("--encoders", type=list[str], required=True,
                        help="exported encoder folders; 'random:FOLDER' is that architecture with random weights, "
                             "'supervised:FOLDER' that architecture trained end to end, 'mfcc' MFCC statistics")
    parser.add_argument("--out", type=str, default=default_out, help="folder for the results")
    parser.add_argument("--cache_dir", type=Optional[str], default="runs/embedding_cache",
                        help="embeddings kept across runs, keyed by encoder weights and data (null: no cache)")
    parser.add_class_arguments(LabeledDataModule, "data")
    parser.add_class_arguments(ProbeConfig, "probe")
    parser.add_lightning_class_args(Trainer, "trainer")  # accelerator and precision are used: one device
    for key, kind in (("log_to", str), ("checkpoint_every_n_steps", Optional[int]),
                      ("checkpoint_every_n_minutes", Optional[float])):  # training keys of the shared trainer YAMLs
        parser.add_argument(f"--{key}", type=kind, default=None, help=f"ignored by {name} (accepted for shared configs)")
    return parser


def probe(args: list[str]) -> None:
    """Probes of frozen encoders on every task at data.label_fraction; prints a table, writes results.csv/json."""
    from ssl_mir.evaluation.report import print_table, write_results
    from ssl_mir.evaluation.sweep import Sweep, run_sweep

    parser = _evaluation_parser(probe, "runs/probe")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    sweep = Sweep(cfg.encoders, fractions=[cfg.data.label_fraction], probe=cfg.probe)
    results = run_sweep(sweep, cfg.data, cfg.trainer.accelerator, cfg.trainer.precision, cfg.cache_dir)
    write_results(results, Path(cfg.out))
    print_table(results)


def compare(args: list[str]) -> None:
    """Label-efficiency comparison: encoders and baselines × tasks × label fractions × seeds; writes results.csv,
    report.md (mean ± std, protocol) and label_efficiency.png."""
    from ssl_mir.evaluation.compare import write_comparison
    from ssl_mir.evaluation.journal import Journal
    from ssl_mir.evaluation.report import print_table
    from ssl_mir.evaluation.supervised import SupervisedBudget
    from ssl_mir.evaluation.sweep import Sweep, run_sweep

    parser = _evaluation_parser(compare, "runs/compare")
    parser.add_argument("--fractions", type=list[float], default=[0.01, 0.1, 1.0], help="label fractions, in (0, 1]")
    parser.add_argument("--tasks", type=Optional[list[str]], default=None, help="tasks to compare (default: all)")
    parser.add_argument("--chunk_seconds", type=dict[str, float], default={},
                        help="per task, a chunk length shorter than data.chunk_samples")
    parser.add_class_arguments(SupervisedBudget, "supervised")
    parsed = parser.parse_args(args)
    cfg = parser.instantiate_classes(parsed)
    sweep = Sweep(cfg.encoders, cfg.fractions, cfg.tasks, cfg.chunk_seconds, cfg.probe, cfg.supervised)
    out = Path(cfg.out)
    probe_settings = {k: v for k, v in parsed.probe.as_dict().items() if k != "seeds"}  # seeds name cells
    journal = Journal(out, {"data": parsed.data.as_dict(), "probe": probe_settings, "chunk_seconds": cfg.chunk_seconds,
                            "supervised": parsed.supervised.as_dict(), "precision": cfg.trainer.precision})
    with log_to_file(out / "compare.log"):
        results = run_sweep(sweep, cfg.data, cfg.trainer.accelerator, cfg.trainer.precision, cfg.cache_dir,
                            journal=journal)
    write_comparison(results, sweep, cfg.data, out)
    print_table(results)
    print(f"results.csv, report.md, label_efficiency.png, compare.log → {out}")


def process_share() -> tuple[int, int]:
    """(rank, world) of this process in a torchrun or srun launch (RANK / WORLD_SIZE, or SLURM_PROCID /
    SLURM_NTASKS), else (0, 1)."""
    import os

    for rank, world in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank in os.environ and world in os.environ:
            return int(os.environ[rank]), int(os.environ[world])
    return 0, 1


def embed(args: list[str]) -> None:
    """Write an encoder's embeddings of a folder, a manifest or a shard folder, clip or frame level, of any layer, as
    .npy files (with index.csv) or one Parquet table. Launched as several processes (torchrun, srun), each takes
    every N-th file and writes its own part (`embeddings-00001-of-00004.parquet`, …): a sharded Parquet dataset."""
    from ssl_mir.data.audio import MAX_AMPLITUDE, read_crop
    from ssl_mir.data.datasets import ChunkDataset
    from ssl_mir.data.manifest import Manifest
    from ssl_mir.data.shards import SUMMARY, ShardReader, is_url, shard_manifest
    from ssl_mir.evaluation.embeddings import extract_frames
    from ssl_mir.evaluation.writers import write_embeddings
    from ssl_mir.export import load_encoder

    parser = ArgumentParser(prog="ssl-mir embed", description=embed.__doc__, default_env=False)
    parser.add_argument("--encoder", type=str, required=True, help="exported encoder folder")
    parser.add_argument("--data", type=str, required=True,
                        help="a folder of audio, a CSV/JSONL manifest, or a shard folder (ssl-mir shard)")
    parser.add_argument("--out", type=str, required=True, help="output folder")
    parser.add_argument("--level", type=Literal["clip", "frame"], default="clip")
    parser.add_argument("--format", type=Literal["npy", "parquet"], default="npy")
    parser.add_argument("--layer", type=int, default=-1, help="index into encoder.hidden_states (-1: the output)")
    parser.add_argument("--chunk_seconds", type=float, default=4.0, help="files are encoded in chunks this long")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--on_bad_file", type=Literal["raise", "skip"], default="raise")
    parser.add_argument("--max_amplitude", type=float, default=MAX_AMPLITUDE, help="files peaking above are bad")
    cfg = parser.parse_args(args)
    encoder = load_encoder(cfg.encoder)
    rank, world = process_share()
    if is_url(cfg.data) or (Path(cfg.data) / SUMMARY).is_file():
        reader: object = ShardReader(cfg.data)
        rows = shard_manifest(cfg.data).rows[rank::world]
    else:
        reader = read_crop
        manifest = Manifest.load(cfg.data)
        rows = Manifest(manifest.rows[rank::world], manifest.source).check(cfg.on_bad_file,
                                                                          max_amplitude=cfg.max_amplitude).rows
    chunks = ChunkDataset(rows, encoder.sample_rate, round(cfg.chunk_seconds * encoder.sample_rate), reader=reader)
    frames = extract_frames(encoder, chunks, cfg.layer, cfg.batch_size, device=_local_device())
    encoder.cpu()  # pooling clips below runs on the frames, on the CPU
    hop_s = cfg.chunk_seconds * len(chunks) / sum(len(f) for f in frames)  # this layer's hop: equal chunks, equal frames
    written = write_embeddings(encoder, rows, frames, cfg.out, cfg.level, cfg.format, hop_s,
                               part=(rank, world) if world > 1 else None)
    print(f"{len(rows)} files → {written}")


def _local_device() -> torch.device:
    """This process's GPU (LOCAL_RANK or SLURM_LOCALID), else the CPU."""
    import os

    if not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", 0))))


def synth(args: list[str]) -> None:
    """Write a corpus. --kind procedural (the default): the built-in corpus of procedural pieces, audio/*.wav and
    manifest.csv. --kind pieces: excerpts of real compositions from the music21 corpus, manifest.csv (the labeled
    set, split by work) and unlabeled.csv (a larger pool of other works); needs pip install 'ssl_mir[corpus]'."""
    import argparse

    from ssl_mir.data.pieces_corpus import synthesize_pieces
    from ssl_mir.data.synthetic import synthesize

    kinds = {"procedural": synthesize, "pieces": synthesize_pieces}
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--kind", choices=list(kinds), default="procedural")
    kind, _ = pre.parse_known_args(args)
    parser = ArgumentParser(prog="ssl-mir synth", description=synth.__doc__, default_env=False)
    parser.add_argument("--kind", choices=list(kinds), default="procedural", help="which corpus")
    parser.add_function_arguments(kinds[kind.kind])
    cfg = parser.parse_args(args).as_dict()
    print(kinds[cfg.pop("kind")](**cfg))


def shard(args: list[str]) -> None:
    """Decode and resample a corpus once into litdata chunks (a local folder or an s3:// / gs:// URL) for
    --data.streaming: one record per clip with its audio, split and labels."""
    from ssl_mir.data.shards import write_shards

    parser = ArgumentParser(prog="ssl-mir shard", description=shard.__doc__, default_env=False)
    parser.add_function_arguments(write_shards)
    print(write_shards(**parser.parse_args(args).as_dict()))


def manifest(args: list[str]) -> None:
    """Convert a corpus on disk (gtzan, magnatagatune, nsynth, giantsteps, or any CSV/TSV table) to a manifest CSV;
    prints the data.tasks to use with it."""
    from ssl_mir.data.corpora.giantsteps import giantsteps
    from ssl_mir.data.corpora.gtzan import gtzan
    from ssl_mir.data.corpora.magnatagatune import magnatagatune
    from ssl_mir.data.corpora.nsynth import nsynth
    from ssl_mir.data.corpora.table import table

    adapters = {f.__name__: f for f in (gtzan, magnatagatune, nsynth, giantsteps, table)}
    parser = ArgumentParser(prog="ssl-mir manifest", description=manifest.__doc__, default_env=False)
    commands = parser.add_subcommands(dest="corpus")
    for name, adapter in adapters.items():
        sub = ArgumentParser(description=adapter.__doc__, default_env=False)
        sub.add_function_arguments(adapter)
        sub.add_argument("--out", type=str, required=True, help="the manifest CSV to write")
        commands.add_subcommand(name, sub, help=(adapter.__doc__ or "").splitlines()[0])
    cfg = parser.parse_args(args)
    options = cfg[cfg.corpus].as_dict()
    out = options.pop("out")
    corpus = adapters[cfg.corpus](**options)
    print(f"{corpus.write(out)}\n{corpus.summary()}")


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
            for batch in loader:
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
    waves = (b["views"][:, 0] for b in cfg.data.plain_crops())
    mean, std = frontend_stats(cfg.model.encoder, waves, cfg.max_batches)
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    Path(cfg.out).write_text(yaml.safe_dump(stats_config(cfg.model.encoder, mean, std), sort_keys=False))
    print(f"mean {mean:.4f}, std {std:.4f} → {cfg.out}")


def export(args: list[str]) -> None:
    """Export the encoder of a training checkpoint as safetensors + JSON, using the run's config.yaml."""
    import yaml

    from ssl_mir.export import build_encoder, save_encoder

    parser = ArgumentParser(prog="ssl-mir export", description=export.__doc__, default_env=False)
    parser.add_argument("--run", type=str, required=True, help="run folder holding config.yaml")
    parser.add_argument("--ckpt", type=str, default=None, help="checkpoint (default: <run>/checkpoints/last.ckpt)")
    parser.add_argument("--out", type=str, required=True, help="artifact folder")
    cfg = parser.parse_args(args)
    run = Path(cfg.run)
    ckpt = Path(cfg.ckpt or run / "checkpoints" / "last.ckpt")
    model = yaml.safe_load((run / "config.yaml").read_text())["model"]
    encoder = build_encoder(model["init_args"]["encoder"])
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    encoder.load_state_dict({k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")},
                            strict=True)
    method = model["class_path"].rpartition(".")[2]
    print(save_encoder(encoder, cfg.out, meta={"method": method, "ckpt": str(ckpt)}))


def main(argv: list[str] | None = None) -> None:
    """Run one command; every error propagates (for Python callers and tests). The shell's `ssl-mir` is `entry`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: ssl-mir {{{','.join(COMMANDS)}}} [options]   (ssl-mir COMMAND --help for options)")
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    command = globals()[argv[0]]
    # The arguments reach the parsers through `args`; sys.argv must still be the whole command line, since
    # Lightning's DDP launcher starts the other ranks by running `python sys.argv[0] sys.argv[1:]` again.
    sys.argv = [sys.argv[0], *argv]
    command(argv[1:])


USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError,
               RunFolderInUseError)


def raised_by_ssl_mir(err: BaseException) -> bool:
    """Whether ssl_mir's own code raised `err` (its innermost frame is in this package): ssl_mir raises these
    errors only about its input, with a message that names the problem; one raised deeper (torch, Lightning) is
    unexpected."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(Path(__file__).parent)


def entry() -> None:
    """The `ssl-mir` console command: `main`, with errors the user caused (config, data, paths: errors ssl_mir
    raised about its input) printed as one line on stderr and exit status 2; `--debug` shows their traceback.
    Unexpected errors keep theirs."""
    argv = sys.argv[1:]
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        main(argv)
    except SIGTERMException:  # stopped on request, after writing a checkpoint (CheckpointOnStop)
        print(f"ssl-mir {argv[0]}: stopped by SIGTERM or SIGUSR1; the same command with --ckpt_path "
              f"<default_root_dir>/checkpoints/last.ckpt (or --ckpt_path last) goes on from there", file=sys.stderr)
        sys.exit(143)  # 128 + SIGTERM: stopped, not finished
    except (RunFailedError, WriteFailedError) as err:  # the run failed (divergence, collapse, a full disk): exit 1
        if debug:
            raise
        print(f"ssl-mir {argv[0]}: failed: {err}", file=sys.stderr)
        sys.exit(1)
    except USER_ERRORS as err:
        if debug or not raised_by_ssl_mir(err):
            raise
        print(f"ssl-mir {argv[0]}: error: {err}\n(--debug shows the traceback)", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    entry()
