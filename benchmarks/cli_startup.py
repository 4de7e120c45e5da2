"""Start-up of the command line: wall time of `ssl-mir --help`, `synth --help` and `manifest --help` (median of
`--repeats` runs each, a fresh interpreter every time), and of `import torch` for scale.

    .venv/bin/python benchmarks/cli_startup.py [--source DIR]

`--source` runs another checkout's package (put first on PYTHONPATH), e.g. a `git worktree` of an older commit, to
measure before and after in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {"ssl-mir --help": ["--help"], "ssl-mir synth --help": ["synth", "--help"],
         "ssl-mir manifest --help": ["manifest", "--help"]}


def seconds(code: str, args: list[str], env: dict[str, str], cwd: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", action="append", default=[], help="a checkout to measure (repeatable)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    run = "import sys\nfrom ssl_mir.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    for source in args.source or [None]:
        env = dict(os.environ)
        if source:
            env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
        where = source or tempfile.gettempdir()  # `python -c` looks in its working folder first
        check = subprocess.run([sys.executable, "-c", "import ssl_mir; print(ssl_mir.__file__)"], env=env, cwd=where,
                               capture_output=True, text=True, check=True).stdout.strip()
        print(f"source: {source or 'installed package'} ({check})")
        for name, argv in CASES.items():
            print(f"  {name:<26} {seconds(run, argv, env, where, args.repeats):6.2f} s")
    torch_s = seconds("import torch", [], dict(os.environ), tempfile.gettempdir(), args.repeats)
    print(f"  {'import torch':<26} {torch_s:6.2f} s")


if __name__ == "__main__":
    main()
