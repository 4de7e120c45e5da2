"""Where a pre-training run waits for the GPU: `ssl-mir pretrain` for a few steps with torch's sync debug mode on,
each place that synchronised (a value read back, a copy that waits) listed with how often it did per step.

    .venv/bin/python benchmarks/cuda_syncs.py                       # SimCLR on the short-chunk CNN, 30 steps
    .venv/bin/python benchmarks/cuda_syncs.py --steps 30 -- -c configs/pretrain/mae_transformer.yaml

A host that waits for the device cannot queue the next kernels meanwhile, so every sync inside the step loop is a
place where the full step loses time against the model-only one. Needs CUDA (the debug mode is CUDA's).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator

import torch

from ssl_mir.cli import main as ssl_mir

OURS = "/ssl_mir/"


@contextlib.contextmanager
def synchronizations() -> Iterator[collections.Counter[str]]:
    """Counts, by place, the synchronizing CUDA calls made inside the block (torch's sync debug mode): the place is
    the innermost frame in ssl_mir that led to it, or else Lightning's, or else where torch warned."""
    places: collections.Counter[str] = collections.Counter()

    def note(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001 (warnings' hook)
        if "synchroniz" in str(message):
            stack = traceback.extract_stack()[:-1]
            frames = ([f for f in stack if OURS in f.filename] or [f for f in stack if "lightning" in f.filename]
                      or [traceback.FrameSummary(filename, lineno, "?")])
            places[f"{frames[-1].filename}:{frames[-1].lineno} {frames[-1].name}"] += 1

    torch.cuda.synchronize()  # what was queued before the block is not counted
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = note
            yield places
    finally:
        torch.cuda.set_sync_debug_mode("default")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--top", type=int, default=25, help="places to list")
    parser.add_argument("extra", nargs="*", help="more pretrain arguments, after --")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("cuda_syncs.py needs a CUDA device (torch.cuda.set_sync_debug_mode)")
    root = tempfile.mkdtemp(prefix="cuda_syncs_")
    command = ["pretrain", "-c", "configs/trainer/gpu_bf16.yaml", "-c", "configs/data/synthetic.yaml",
               "-c", "configs/pretrain/simclr_cnn2d.yaml", *args.extra, "--trainer.max_epochs", "-1",
               "--trainer.max_steps", str(args.steps), "--trainer.default_root_dir", root, "--log_to", "csv"]
    with synchronizations() as places:
        ssl_mir(command)
    print(f"ssl-mir {' '.join(command)}")
    print(f"syncs: {sum(places.values())} in {args.steps} steps and the run around them, at {len(places)} places")
    for place, count in places.most_common(args.top):
        print(f"{count / args.steps:8.2f} per step  {place}")


if __name__ == "__main__":
    main()
