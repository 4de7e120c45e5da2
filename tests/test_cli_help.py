"""The command line explains itself: the command list with summaries, --version, unknown commands named with the
closest match, and help of the light commands without loading torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ssl_mir import __version__
from ssl_mir.cli import COMMANDS, command, main


def test_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for name, spec in COMMANDS.items():
        assert any(line.split()[:1] == [name] and spec.summary in line for line in out.splitlines()), name
    with pytest.raises(SystemExit) as exit_:
        main([])  # no command: the same list, as a usage error
    assert exit_.value.code == 2 and capsys.readouterr().out == out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"ssl-mir {__version__}\n"


@pytest.mark.parametrize("typed,suggested", [("pretrian", "pretrain"), ("embedd", "embed"), ("xyzzy", None)])
def test_an_unknown_command_is_named_with_the_closest_match(typed: str, suggested: str | None,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([typed, "--foo"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"unknown command '{typed}'" in err
    assert (f"did you mean '{suggested}'?" in err) if suggested else ("did you mean" not in err)


def test_every_command_resolves_to_a_documented_function() -> None:
    for name in COMMANDS:
        function = command(name)
        assert function.__name__ == name and function.__doc__


@pytest.mark.parametrize("args", [["--help"], ["synth", "--help"], ["manifest", "--help"], ["manifest", "gtzan",
                                                                                          "--help"]])
def test_the_help_of_light_commands_does_not_load_torch(args: list[str]) -> None:
    code = ("import sys\nfrom ssl_mir.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('torch', 'pytorch_lightning', 'torchaudio') if m in sys.modules)\n"
            "print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.splitlines()[-1] == "HEAVY []", done.stdout[-500:]
    assert "usage" in done.stdout.lower()


CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("command,trainer,extra,named", [
    ("probe", "cpu.yaml", ["--trainer.max_epochs", "3"], "max_epochs"),
    ("compare", "cpu.yaml", ["--trainer.limit_train_batches", "2"], "limit_train_batches"),
    ("compare", "ddp.yaml", [], "num_nodes"),
])
def test_probe_and_compare_refuse_trainer_options_they_do_not_honour(command: str, trainer: str, extra: list[str],
                                                                     named: str,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "-c", str(CONFIGS / "trainer" / trainer), "-c", str(CONFIGS / "data" / "synthetic_labeled.yaml"),
              "-c", str(CONFIGS / "probe" / "linear.yaml"), "--encoders", "[mfcc]", *extra])
    assert exit_.value.code == 2 and named in capsys.readouterr().err


def test_one_device_is_all_they_take() -> None:
    from ssl_mir.commands.evaluation import OneDevice

    assert OneDevice("gpu", "bf16-mixed", 1).precision == "bf16-mixed"
    with pytest.raises(ValueError, match="probe and compare run on one device"):
        OneDevice("gpu", "bf16-mixed", 4)


def test_the_log_reaches_the_console_unless_quiet(corpus: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    probe = ["probe", "-c", str(CONFIGS / "trainer" / "cpu.yaml"), "-c", str(CONFIGS / "data" / "synthetic_labeled.yaml"),
             "-c", str(CONFIGS / "probe" / "linear.yaml"), "--encoders", "[mfcc]", "--data.manifest", str(corpus),
             "--data.num_workers", "0", "--probe.seeds", "[0]", "--probe.max_epochs", "1",
             "--cache_dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    main(probe)
    capsys.readouterr()
    main([*probe, "--quiet"])  # the second run reads the embeddings from the cache
    assert "embedding cache hit" not in capsys.readouterr().err
    main(probe)
    assert "embedding cache hit" in capsys.readouterr().err
