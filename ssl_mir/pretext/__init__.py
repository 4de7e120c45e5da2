"""Pretext tasks: LightningModules that train an encoder without labels."""

from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.bestrq import BestRQ
from ssl_mir.pretext.byol import BYOLA
from ssl_mir.pretext.cola import COLA
from ssl_mir.pretext.joint import SimCLRCOLA
from ssl_mir.pretext.m2d import M2D
from ssl_mir.pretext.mae import MAE
from ssl_mir.pretext.pesto import PESTO
from ssl_mir.pretext.simclr import SimCLR
from ssl_mir.pretext.stone import STONE
from ssl_mir.pretext.two_part import InvariantEquivariant

__all__ = ["BYOLA", "COLA", "InvariantEquivariant", "M2D", "MAE", "BestRQ", "PESTO", "PretextModule", "STONE", "SimCLR",
           "SimCLRCOLA"]
