"""One small instance of every encoder family (and front end), for the tests that must hold for all of them: export
round trips, the HEAR API, ONNX parity. CQT front ends are kept to one octave where they can be (ChromaNet's spare
makes two) and to short hops: each halving of the rate that an octave's decimation takes (up to hop / 2) added 5-8 s
to the ONNX export's shape tracing."""

from __future__ import annotations

from ssl_mir.encoders import (CRNN, BiRNN, ChromaNet, ChromaStats, Conv1dEncoder, DenseEncoder, MFCCStats,
                              PatchTransformer, PitchNet, SampleCNN, ShortChunkCNN, TwoPart, VGGEncoder)
from ssl_mir.frontends import CQT, STFT, Chroma

EVERY_FAMILY = [lambda: ShortChunkCNN(channels=[8, 16], n_mels=32, mel_mean=-4.0, mel_std=2.0),
                lambda: SampleCNN(channels=[8, 8, 8, 16], wave_std=0.3),
                lambda: MFCCStats(n_mfcc=13),
                lambda: PatchTransformer(dim=32, depth=2, heads=2, positions="learned", max_time_patches=8,
                                         mel_mean=-1.0, mel_std=3.5),
                lambda: DenseEncoder(frontend=STFT(n_fft=256, mean=-2.0), hidden=[16], embed_dim=8),
                lambda: Conv1dEncoder(frontend=CQT(n_octaves=1, hop_length=16, std=2.0), channels=[8, 8], aggregation="strided"),
                lambda: CRNN(frontend=Chroma(mean=1.0, n_octaves=1, hop_length=16), channels=[4, 8], gru_dim=8),
                lambda: BiRNN(cell="lstm", hidden=4, aggregation="recurrent"),
                lambda: VGGEncoder(channels=[4, 8], aggregation="max"),
                lambda: ChromaStats(n_octaves=1),
                lambda: ChromaNet(n_octaves=1, hop_length=16, channels=[4, 4], time_pools=[2, 1], cqt_mean=-10.0,
                                  cqt_std=4.0),
                lambda: PitchNet(n_octaves=1, hop_length=16, bins_per_semitone=1, max_shift=2, channels=[4, 3, 2], kernel=5,
                                 out_bins=24, dropout=0.0),
                lambda: TwoPart(ShortChunkCNN(channels=[4, 8], n_mels=16),
                                ChromaNet(n_octaves=1, channels=[4, 4], time_pools=[2, 1], cqt_mean=-10.0, cqt_std=4.0))]
FAMILY_IDS = ["short_chunk_cnn", "sample_cnn", "mfcc", "patch_transformer", "dense_stft", "conv1d_cqt", "crnn_chroma",
              "birnn", "vgg", "chroma_stats", "chromanet", "pitchnet",
              "two_part"]
