"""`ssl-mir probe` and `ssl-mir compare`: frozen encoders and baselines on labeled tasks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from jsonargparse import ActionConfigFile, ArgumentParser

from ssl_mir.data.datamodules import LabeledDataModule


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


@dataclass
class OneDevice:
    """Where probe and compare run: one device (the shared trainer YAMLs compose, their other keys are refused).

    Args:
        accelerator: "cpu", "gpu" or "auto".
        precision: "32-true", "bf16-mixed" or "16-mixed" (embedding extraction and supervised baselines).
        devices: must be 1: probes and baselines run on one device.
    """

    accelerator: str = "auto"
    precision: str = "32-true"
    devices: int = 1

    def __post_init__(self) -> None:
        from ssl_mir.precision import resolve_precision

        self.precision = str(resolve_precision(self.accelerator, self.precision))  # bf16 only where it is native
        if self.devices != 1:
            raise ValueError(f"trainer.devices is {self.devices}: probe and compare run on one device; compose "
                             f"configs/trainer/cpu.yaml or gpu_bf16.yaml instead of a multi-device trainer YAML")


def _evaluation_parser(command: object, default_out: str) -> ArgumentParser:
    """The arguments probe and compare share: encoders, data, probe protocol, trainer, output and cache folders."""
    from ssl_mir.evaluation.probe import ProbeConfig

    name = command.__name__  # type: ignore[attr-defined]
    parser = ArgumentParser(prog=f"ssl-mir {name}", description=command.__doc__, default_env=False)
    parser.add_argument("-c", "--config", action=ActionConfigFile)
    parser.add_argument("--encoders", type=list[str], required=True,
                        help="exported encoder folders; 'random:FOLDER' is that architecture with random weights, "
                             "'supervised:FOLDER' that architecture trained end to end, 'mfcc' MFCC statistics, "
                             "'chroma' chroma (pitch-class profile) statistics")
    parser.add_argument("--out", type=str, default=default_out, help="folder for the results")
    parser.add_argument("--cache_dir", type=Optional[str], default="runs/embedding_cache",
                        help="embeddings kept across runs, keyed by encoder weights and data, and under decoded/ the "
                             "audio decoded once for supervised: entries (null: no cache, a scratch folder for that)")
    parser.add_class_arguments(LabeledDataModule, "data")
    parser.add_class_arguments(ProbeConfig, "probe")
    parser.add_class_arguments(OneDevice, "trainer")
    for key, kind in (("log_to", str), ("checkpoint_every_n_steps", Optional[int]),
                      ("checkpoint_every_n_minutes", Optional[float])):  # training keys of the shared trainer YAMLs
        parser.add_argument(f"--{key}", type=kind, default=None, help=f"ignored by {name} (accepted for shared configs)")
    return parser


def probe(args: list[str]) -> None:
    """Probes of frozen encoders on every task at data.label_fraction (or data.label_shots per class); prints a
    table, writes results.csv/json."""
    from ssl_mir.evaluation.report import print_table, write_results
    from ssl_mir.evaluation.sweep import Sweep, run_sweep

    parser = _evaluation_parser(probe, "runs/probe")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    shots = cfg.data.label_shots
    sweep = Sweep(cfg.encoders, fractions=[] if shots else [cfg.data.label_fraction], shots=[shots] if shots else [],
                  probe=cfg.probe)
    results = run_sweep(sweep, cfg.data, cfg.trainer.accelerator, cfg.trainer.precision, cfg.cache_dir)
    write_results(results, Path(cfg.out))
    print_table(results)


def compare(args: list[str]) -> None:
    """Label-efficiency comparison: encoders and baselines × tasks × label budgets (fractions, and shots per class
    for multiclass tasks) × seeds; writes results.csv, report.md (mean ± std, protocol, bootstrap intervals and paired
    differences against the baselines), label_efficiency.png, the best frozen encoder's confusion_<task>.png and
    map_<task>.png (t-SNE of the test clips)."""
    from ssl_mir.evaluation.compare import write_comparison
    from ssl_mir.evaluation.confusion import write_confusions
    from ssl_mir.evaluation.journal import Journal
    from ssl_mir.evaluation.maps import write_maps
    from ssl_mir.evaluation.report import print_table
    from ssl_mir.evaluation.supervised import SupervisedBudget
    from ssl_mir.evaluation.sweep import Sweep, run_sweep

    parser = _evaluation_parser(compare, "runs/compare")
    parser.add_argument("--fractions", type=list[float], default=[0.01, 0.1, 1.0], help="label fractions, in (0, 1]")
    parser.add_argument("--shots", type=list[int], default=[],
                        help="label budgets in training clips per class, for multiclass tasks (e.g. [1, 5, 20])")
    parser.add_argument("--tasks", type=Optional[list[str]], default=None, help="tasks to compare (default: all)")
    parser.add_argument("--chunk_seconds", type=dict[str, float], default={},
                        help="per task, a chunk length shorter than data.chunk_samples")
    parser.add_argument("--maps", type=bool, default=True,
                        help="also draw map_<task>.png: t-SNE of each encoder's test-clip embeddings, by label")
    parser.add_class_arguments(SupervisedBudget, "supervised")
    parsed = parser.parse_args(args)
    cfg = parser.instantiate_classes(parsed)
    sweep = Sweep(cfg.encoders, cfg.fractions, cfg.tasks, cfg.chunk_seconds, cfg.probe, cfg.supervised, cfg.shots)
    out = Path(cfg.out)
    probe_settings = {k: v for k, v in parsed.probe.as_dict().items() if k != "seeds"}  # seeds name cells
    journal = Journal(out, {"data": parsed.data.as_dict(), "probe": probe_settings, "chunk_seconds": cfg.chunk_seconds,
                            "supervised": parsed.supervised.as_dict(), "precision": cfg.trainer.precision})
    with log_to_file(out / "compare.log"):
        results = run_sweep(sweep, cfg.data, cfg.trainer.accelerator, cfg.trainer.precision, cfg.cache_dir,
                            journal=journal)
    write_comparison(results, sweep, cfg.data, out)
    write_confusions(results, sweep, cfg.data, out, cfg.cache_dir, cfg.trainer.accelerator)
    if cfg.maps:
        write_maps(sweep, cfg.data, out, cfg.cache_dir, "cpu" if cfg.trainer.accelerator == "cpu" else None)
    print_table(results)
    maps = ", map_<task>.png" if cfg.maps else ""
    print(f"results.csv, report.md, label_efficiency.png, confusion_<task>.png{maps}, compare.log → {out}")
