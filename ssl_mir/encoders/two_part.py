"""An encoder of two parts trained side by side: one invariant to what its views share, one equivariant to pitch.

Contrastive and masked objectives teach invariance (what two views of a clip share: timbre, texture, style);
STONE's teaches where the pitches are. One objective's invariance is the other's signal (a pitch shift), so each
part gets its own network and its own loss (`pretext.InvariantEquivariant`), and a probe reads either part or both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ssl_mir.encoders.base import Encoder


class TwoPart(Encoder):
    """Hidden states: the invariant part's, then the equivariant part's, then both outputs side by side (B, T, D_i +
    D_e), each part's frames taken at the coarser part's frame times (nearest frame), so `probe.layers: best` chooses
    a part per task and the output probes both.

    Args:
        invariant: the part trained for invariance (SimCLR, BYOL-A, ... views).
        equivariant: the part trained for transposition equivariance (a ChromaNet under STONE).
    """

    def __init__(self, invariant: Encoder, equivariant: Encoder) -> None:
        super().__init__()
        if invariant.sample_rate != equivariant.sample_rate:
            raise ValueError(f"the parts' rates differ: invariant {invariant.sample_rate} Hz, equivariant "
                             f"{equivariant.sample_rate} Hz")
        self.invariant, self.equivariant = invariant, equivariant
        self.sample_rate = invariant.sample_rate
        self.frame_rate = min(invariant.frame_rate, equivariant.frame_rate)
        self.embed_dim = invariant.embed_dim + equivariant.embed_dim

    def hidden_states(self, wave: torch.Tensor) -> list[torch.Tensor]:
        first, second = self.invariant.hidden_states(wave), self.equivariant.hidden_states(wave)
        frames = min(first[-1].shape[1], second[-1].shape[1])
        both = [F.interpolate(h[-1].transpose(1, 2), size=frames, mode="nearest").transpose(1, 2)
                for h in (first, second)]  # (B, T, D_part) each
        return [*first, *second, torch.cat(both, dim=-1)]  # ..., (B, T, D_i + D_e)
