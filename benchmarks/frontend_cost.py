"""Front-end throughput on this CPU, in seconds of audio per second, and CQT's cost relative to the STFT's, in one run.

    .venv/bin/python benchmarks/frontend_cost.py

Each front end transforms a batch of 16 random 10-s clips at 16 kHz (hop 256), float32, one process; the figure is
the median of 5 timed calls after one warm-up call.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from ssl_mir.frontends import CQT, STFT, Chroma, LogMel, Waveform


def seconds_of_audio_per_second(frontend: torch.nn.Module, wave: torch.Tensor, sample_rate: int, calls: int) -> float:
    with torch.no_grad():
        frontend(wave)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            frontend(wave)
            times.append(time.perf_counter() - start)
    return wave.numel() / sample_rate / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    sr = 16000
    wave = 0.1 * torch.randn(args.batch, int(args.seconds * sr))
    frontends = {"waveform": Waveform(), "stft (512)": STFT(), "log-mel (96)": LogMel(n_mels=96),
                 "cqt (84, C1-B7)": CQT(), "chroma (12)": Chroma()}
    speed = {name: seconds_of_audio_per_second(f, wave, sr, args.calls) for name, f in frontends.items()}
    print(f"{args.batch} × {args.seconds:g} s clips at {sr} Hz, torch threads {torch.get_num_threads()}")
    for name, value in speed.items():
        print(f"{name:16s} {value:12.0f} s of audio / s")
    print(f"CQT costs {speed['stft (512)'] / speed['cqt (84, C1-B7)']:.1f}× the STFT")


if __name__ == "__main__":
    main()
