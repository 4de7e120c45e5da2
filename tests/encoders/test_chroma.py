"""Chroma statistics, the tonal baseline: pitch classes where they belong, and librosa's chroma_cqt."""

from __future__ import annotations

import math

import librosa
import numpy as np
import torch

from ssl_mir.encoders import ChromaStats
from ssl_mir.evaluation.baselines import check_spec, resolve_encoder
from ssl_mir.frontends import fold_pitch_classes


def _tones(midi: list[int], seconds: float = 2.0, rate: int = 16000) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return 0.1 * sum(torch.sin(2 * math.pi * 440 * 2 ** ((m - 69) / 12) * t) for m in midi)[None]  # (1, S)


def test_a_tone_lands_on_its_pitch_class_in_every_octave() -> None:
    encoder = ChromaStats().eval()
    for midi in (36, 49, 62, 71, 83, 90):  # C2 to F#6
        frames = encoder(_tones([midi]))  # (1, T, 12), C = class 0
        assert int(frames[0, 10:-10].mean(0).argmax()) == midi % 12, midi


def test_folding_centres_each_class_on_its_pitch() -> None:
    """At 3 bins per class, bin 3q is pitch class q exactly; bins 3q - 1 and 3q + 1 (a third of a semitone off)
    belong to it too, and the bin below C wraps to C."""
    bins = torch.zeros(1, 36, 1)
    bins[0, [35, 0, 1], 0] = 1.0  # around C
    bins[0, [20, 21, 22], 0] = 2.0  # around G (3 · 7 = 21)
    chroma = fold_pitch_classes(bins, 3)[0, :, 0]
    assert chroma.tolist() == [3.0] + [0.0] * 6 + [6.0] + [0.0] * 4
    assert torch.equal(fold_pitch_classes(bins[:, :12], 1), bins[:, :12])  # one bin per class: unchanged


def test_matches_librosa_chroma_cqt_on_chords() -> None:
    encoder = ChromaStats().eval()
    for chord in ([48, 52, 55, 60], [50, 53, 57, 62, 65], [43, 59, 62, 66]):  # C, D minor, G/B-ish voicing
        wave = _tones(chord, seconds=3.0)
        ours = encoder(wave)[0, 20:-20].mean(0).numpy()
        theirs = librosa.feature.chroma_cqt(y=wave[0].numpy(), sr=16000, hop_length=512)[:, 20:-20].mean(1)
        assert np.corrcoef(ours, theirs)[0, 1] > 0.9  # the two CQTs weigh octaves differently
        assert set(np.argsort(ours)[-len(set(m % 12 for m in chord)):]) == {m % 12 for m in chord}


def test_is_a_baseline_spec_of_24_numbers() -> None:
    check_spec("chroma")  # no folder to read
    encoder = resolve_encoder("chroma", sample_rate=16000)
    assert isinstance(encoder, ChromaStats)
    assert encoder.embed(_tones([60])).shape == (1, 24)
    silent = encoder.embed(torch.zeros(1, 16000))
    assert torch.isfinite(silent).all()
