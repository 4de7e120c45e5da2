"""Which cross-entropy PESTO needs: the same PitchNet trained the same number of steps on the same notes with
`pretext/pitch_losses.py`'s form (torch's cross-entropy of the distributions, as PESTO's reference code) and with the
cross-entropy of the logits; for each, the output's mean entropy and how many validation notes one offset reads the
pitch of (within half a semitone). Each run prints as it goes.

    python benchmarks/pesto_cross_entropy.py --steps 200 --manifest data/notes/manifest.csv   # 12 min on 2 cores
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import ssl_mir.pretext.pesto as pesto
from ssl_mir.encoders import PitchNet
from ssl_mir.pretext.pitch_losses import shift_bins


def logits_form() -> None:
    """Swap PESTO's two cross-entropies for the cross-entropy of the logits (the distributions' logs, up to a
    constant), against the same detached targets."""

    def ce(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return -(target * torch.log(y.clamp_min(1e-12))).sum(-1).mean()

    pesto.invariance_loss = lambda a, b: (ce(a, b.detach()) + ce(b, a.detach())) / 2  # type: ignore[assignment]
    pesto.shifted_cross_entropy = lambda y, t, k: (ce(t, shift_bins(y, k).detach())  # type: ignore[assignment]
                                                   + ce(y, shift_bins(t, -k).detach())) / 2


def notes(manifest: Path, split: str, n: int) -> tuple[torch.Tensor, np.ndarray]:
    rows = [r for r in csv.DictReader(open(manifest)) if r["split"] == split]
    rows = [rows[i] for i in np.random.default_rng(0).choice(len(rows), n, replace=False)]
    wave = np.stack([sf.read(manifest.parent / r["path"], dtype="float32")[0] for r in rows])
    return torch.from_numpy(wave), np.array([int(r["pitch"]) for r in rows])


def run(wave: torch.Tensor, valid: tuple[torch.Tensor, np.ndarray], steps: int, lr: float) -> tuple[float, float]:
    torch.manual_seed(0)
    net = PitchNet()
    module = pesto.PESTO(net)
    module.log_dict = lambda *a, **k: None  # type: ignore[method-assign]
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    for step in range(steps):
        loss = module.training_step({"views": wave[torch.randint(0, len(wave), (32,))][:, None]}, step)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0:
            print(f"  step {step}: loss {float(loss):.3f}", flush=True)
    with torch.no_grad():
        y = net.eval()(valid[0]).mean(1)  # (N, 384)
    entropy = float(-(y * torch.log(y + 1e-9)).sum(1).mean())
    semitones = y.argmax(1).numpy() / net.bins_per_semitone
    offset = np.median(semitones - valid[1])
    return entropy, float(np.mean(np.abs(semitones - offset - valid[1]) < 0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=Path("data/notes/manifest.csv"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    wave, _ = notes(args.manifest, "train", 1024)
    valid = notes(args.manifest, "valid", 400)
    print(f"log {PitchNet().embed_dim} = {np.log(PitchNet().embed_dim):.2f} nats is the uniform answer's entropy")
    results = {"distributions (the reference's)": run(wave, valid, args.steps, args.lr)}
    logits_form()
    results["logits"] = run(wave, valid, args.steps, args.lr)
    for form, (entropy, readout) in results.items():
        print(f"cross-entropy of the {form}: entropy {entropy:.2f} nats, pitch read on {readout:.3f} of the notes")


if __name__ == "__main__":
    main()
