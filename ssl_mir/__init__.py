"""ssl_mir: self-supervised pre-training and linear evaluation of music audio encoders."""

from ssl_mir.evaluation.embeddings import embed
from ssl_mir.export import load_encoder, save_encoder

__version__ = "0.1.0"
__all__ = ["__version__", "embed", "load_encoder", "save_encoder"]
