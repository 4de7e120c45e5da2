"""The memory allocator as a lever on the CPU training step: the model-only SimCLR step on SampleCNN (CLMR's
workload, batch 32 × 2 × 59049 samples) in a fresh process per setting, with glibc's defaults, with the setting
`ssl-mir pretrain` applies (`ssl_mir.allocator`: large buffers kept in the heap), and with jemalloc and tcmalloc
preloaded where installed (Debian: libjemalloc2, libtcmalloc-minimal4). Reported per setting: seconds per step, the
share of CPU time spent in the kernel, and minor page faults per step, in one run.

    .venv/bin/python benchmarks/allocator.py [--precision 32|bf16] [--steps 3] [--batch 32]

glibc serves every buffer above its mmap threshold (at most 32 MB) with a fresh mmap and returns it on free, so each
step faults a SampleCNN batch's activations (hundreds of MB) in again, page by page, and the kernel zeroes them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

PRELOADS = {"jemalloc": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
            "tcmalloc": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"}


def child(precision: str, steps: int, batch: int, tune: bool) -> None:
    """Time the step in this process and print one JSON line."""
    if tune:
        from ssl_mir.allocator import keep_freed_memory

        keep_freed_memory()
    import torch
    from mfu import build
    from stepping import random_views, step

    model, data = build("simclr_samplecnn", ["--data.batch_size", str(batch)])
    views = random_views(batch, data.n_views, data.crop_samples, torch.device("cpu"))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    bf16 = precision == "bf16"
    for index in range(2):
        step(model, views, optimizer, index, bf16)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for index in range(steps):
        step(model, views, optimizer, 2 + index, bf16)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    print(json.dumps({"seconds": seconds / steps, "kernel_share": system / (user + system),
                      "faults": (after.ru_minflt - before.ru_minflt) / steps}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", choices=["32", "bf16"], default="32")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--child", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.precision, args.steps, args.batch, args.child == "tuned")
        return
    settings: dict[str, tuple[str, dict[str, str]]] = {"glibc defaults": ("default", {}),
                                                        "ssl_mir.allocator (glibc, kept)": ("tuned", {})}
    settings.update({name: ("default", {"LD_PRELOAD": path}) for name, path in PRELOADS.items() if Path(path).exists()})
    print(f"SimCLR on SampleCNN, batch {args.batch} x 2 x 59049, model-only step, {args.precision}, "
          f"{args.steps} steps after 2")
    results = {}
    for name, (mode, env) in settings.items():
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--precision", args.precision, "--steps",
                              str(args.steps), "--batch", str(args.batch)], env={**os.environ, **env}, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
        results[name] = json.loads(out)
        r = results[name]
        print(f"{name:<34} {r['seconds']:6.2f} s/step  kernel {r['kernel_share']:5.1%}  "
              f"{r['faults']:10.0f} page faults/step  speed-up "
              f"{results['glibc defaults']['seconds'] / r['seconds']:.2f}x", flush=True)


if __name__ == "__main__":
    main()
