"""`ssl-mir COMMAND [options]`: the command line.

Each command is a function `f(args: list[str])` in a module of `ssl_mir.commands`, named in `COMMANDS` with a
one-line summary; only the module of the command that runs is imported, so `ssl-mir --help` and the help of the
light commands start without loading torch. pretrain and supervised are LightningCLI `fit` runs, the others
jsonargparse parsers; configs compose with `-c` (trainer YAML, data YAML, method YAML).
"""

from __future__ import annotations

import difflib
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, NoReturn

from ssl_mir.allocator import keep_freed_memory
from ssl_mir.atomic import WriteFailedError
from ssl_mir.errors import RunFailedError
from ssl_mir.runlock import RunFolderInUseError


class Command(NamedTuple):
    module: str  # in ssl_mir.commands
    summary: str


COMMANDS: dict[str, Command] = {
    "pretrain": Command("training", "self-supervised pre-training; exports the encoder at the end"),
    "supervised": Command("training", "end-to-end supervised training on one task, then a clip-level test"),
    "probe": Command("evaluation", "probes of frozen encoders on every task at one label fraction"),
    "compare": Command("evaluation", "label-efficiency sweep of encoders and baselines: report, tables, plots"),
    "embed": Command("embed", "an encoder's clip or frame embeddings of a corpus, as .npy or Parquet"),
    "synth": Command("corpus", "write the built-in corpus, or the pieces corpus of real compositions"),
    "shard": Command("corpus", "decode a corpus once into litdata shards for --data.streaming"),
    "manifest": Command("corpus", "convert a corpus on disk (GTZAN, MTAT, NSynth, GiantSteps, a table) to a manifest"),
    "targets": Command("features", "k-means targets on token features of unlabeled crops, for BEST-RQ"),
    "stats": Command("features", "normalisation statistics of an encoder's front end on unlabeled crops"),
    "export": Command("export", "a training checkpoint's encoder as safetensors + JSON"),
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("ssl_mir")
    except PackageNotFoundError:  # run from a source tree that was not installed
        from ssl_mir import __version__

        return __version__


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {c.summary}" for name, c in COMMANDS.items()]
    return "\n".join(["usage: ssl-mir COMMAND [options]   (ssl-mir COMMAND --help for its options)", "",
                      "Self-supervised pre-training and evaluation of music audio encoders.", "", "commands:", *lines,
                      "", "options:", "  -h, --help  this list", "  --version   the installed version",
                      "  --debug     with a command: show the traceback of an error in your input",
                      "  --quiet     with a command: warnings and errors only (the log is on stderr, INFO by default)",
                      "  --verbose   with a command: debug messages too",
                      "  --trust PKG with a command: exported encoders may name classes of package PKG (also",
                      "              SSL_MIR_TRUST=PKG); other packages stay refused"])


def command(name: str) -> Callable[[list[str]], None]:
    """The function that runs `name`, its module imported now."""
    return getattr(importlib.import_module(f"ssl_mir.commands.{COMMANDS[name].module}"), name)


def unknown(name: str) -> NoReturn:
    close = difflib.get_close_matches(name, COMMANDS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    print(f"ssl-mir: unknown command '{name}'{hint} (ssl-mir --help lists the commands)", file=sys.stderr)
    sys.exit(2)


def trusted(argv: list[str]) -> list[str]:
    """`--trust PKG` (repeatable, anywhere): exported encoders may name PKG's classes. Returns argv without it."""
    from ssl_mir.configurable import trust

    rest, i = [], 0
    while i < len(argv):
        if argv[i] == "--trust" and i + 1 < len(argv):
            trust(argv[i + 1])
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return rest


def console_logging(argv: list[str]) -> list[str]:
    """ssl_mir's log on stderr through rich: INFO by default (cache hits, each finished cell of a sweep, exports),
    WARNING with --quiet, DEBUG with --verbose. Returns argv without those flags."""
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger("ssl_mir")
    console = next((h for h in logger.handlers if isinstance(h, RichHandler)), None)
    if console is None:  # once per process, however often main runs
        console = RichHandler(console=Console(stderr=True), show_path=False, log_time_format="[%X]")
        logger.addHandler(console)
    console.setLevel(logging.WARNING if "--quiet" in argv else logging.DEBUG if "--verbose" in argv else logging.INFO)
    logger.setLevel(logging.DEBUG if "--verbose" in argv else logging.INFO)
    return [a for a in argv if a not in ("--quiet", "--verbose")]


def main(argv: list[str] | None = None) -> None:
    """Run one command; every error propagates (for Python callers and tests). The shell's `ssl-mir` is `entry`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if argv else 2)
    if argv[0] == "--version":
        print(f"ssl-mir {version()}")
        sys.exit(0)
    if argv[0] not in COMMANDS:
        unknown(argv[0])
    run = command(argv[0])
    keep_freed_memory()  # glibc keeps a step's large buffers for the next one (ssl_mir.allocator)
    # The arguments reach the parsers through `args`; sys.argv must still be the whole command line, since
    # Lightning's DDP launcher starts the other ranks by running `python sys.argv[0] sys.argv[1:]` again.
    sys.argv = [sys.argv[0], *argv]
    run(trusted(console_logging(argv[1:])))


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


def stopped_by_signal(err: BaseException) -> bool:
    """Lightning's SIGTERMException (a run stopped on request), without importing Lightning to ask."""
    exceptions = sys.modules.get("pytorch_lightning.utilities.exceptions")
    return exceptions is not None and isinstance(err, exceptions.SIGTERMException)


def entry() -> None:
    """The `ssl-mir` console command: `main`, with errors the user caused (config, data, paths: errors ssl_mir
    raised about its input) printed as one line on stderr and exit status 2; `--debug` shows their traceback.
    Unexpected errors keep theirs."""
    argv = sys.argv[1:]
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        main(argv)
    except SystemExit as err:
        if not stopped_by_signal(err):
            raise
        # stopped on request, after writing a checkpoint (CheckpointOnStop)
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
