"""Pretext tasks: LightningModules that train an encoder without labels."""

from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.simclr import SimCLR

__all__ = ["PretextModule", "SimCLR"]
