"""Encoders: waveform (B, S) → frame embeddings (B, T, D). One architecture per file, no task heads."""

from ssl_mir.encoders.base import Encoder
from ssl_mir.encoders.chroma import ChromaStats
from ssl_mir.encoders.chromanet import ChromaNet
from ssl_mir.encoders.cnn2d import ShortChunkCNN
from ssl_mir.encoders.conv1d import Conv1dEncoder
from ssl_mir.encoders.crnn import CRNN
from ssl_mir.encoders.dense import DenseEncoder
from ssl_mir.encoders.mfcc import MFCCStats
from ssl_mir.encoders.pitchnet import PitchNet
from ssl_mir.encoders.rnn import BiRNN
from ssl_mir.encoders.samplecnn import SampleCNN
from ssl_mir.encoders.transformer import PatchTransformer
from ssl_mir.encoders.two_part import TwoPart
from ssl_mir.encoders.vgg import VGGEncoder

__all__ = ["BiRNN", "CRNN", "ChromaNet", "ChromaStats", "Conv1dEncoder", "DenseEncoder", "Encoder", "MFCCStats",
           "PatchTransformer", "PitchNet", "SampleCNN", "ShortChunkCNN", "TwoPart", "VGGEncoder"]
