"""The vocabulary: parsing errors, and both backends drawing from the same parameter distributions."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp

from ssl_mir.augment.transform import mel_uniform
from ssl_mir.augment.vocabulary import OneOf, parse

N = 3000
SR = 16000


def cpu_draws(entry: dict, key: str, n: int = N) -> np.ndarray:
    """`key` of audiomentations' own parameters over n draws of the entry's CPU transform (applied ones only)."""
    transform = parse([entry])[0].cpu()
    samples = (0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)
    random.seed(0)
    np.random.seed(0)
    values = []
    for _ in range(n):
        transform.randomize_parameters(samples, SR)
        if transform.parameters["should_apply"]:
            values.append(transform.parameters[key])
    return np.asarray(values, dtype=np.float64)


def batch_draws(entry: dict, key: str, n: int = N) -> np.ndarray:
    torch.manual_seed(0)
    return parse([entry])[0].draw(n)[key].numpy()


def same(a: np.ndarray, b: np.ndarray) -> float:
    return ks_2samp(a, b).pvalue


CASES = [  # entry, audiomentations key → comparable value, our key
    ({"name": "gain", "p": 1.0, "min_gain_db": -20, "max_gain_db": -1}, "amplitude_ratio",
     lambda v: 20 * np.log10(v), "gain_db"),
    ({"name": "pitch_shift", "p": 1.0, "min_semitones": -7, "max_semitones": 7}, "num_semitones", None, "semitones"),
    ({"name": "time_stretch", "p": 1.0, "min_rate": 0.8, "max_rate": 1.25}, "rate", None, "rate"),
    ({"name": "lowpass", "p": 1.0, "min_cutoff_freq": 2200, "max_cutoff_freq": 4000}, "cutoff_freq", None, "cutoff"),
    ({"name": "highpass", "p": 1.0, "min_cutoff_freq": 200, "max_cutoff_freq": 1200}, "cutoff_freq", None, "cutoff"),
    ({"name": "highpass", "p": 1.0}, "rolloff", lambda v: v / 6, "order"),
    ({"name": "bandpass", "p": 1.0}, "center_freq", None, "center"),
    ({"name": "bandpass", "p": 1.0}, "bandwidth", None, "bandwidth"),
]


@pytest.mark.parametrize("entry,cpu_key,to_ours,key", CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_both_backends_draw_from_one_distribution(entry: dict, cpu_key: str, to_ours, key: str) -> None:
    ours = batch_draws(entry, key)
    theirs = cpu_draws(entry, cpu_key)
    theirs = to_ours(theirs) if to_ours else theirs
    assert same(ours, theirs) > 1e-3


def test_noise_snr_distribution_matches() -> None:
    entry = {"name": "noise", "p": 1.0, "min_snr_db": 20, "max_snr_db": 40}
    samples_rms = float(np.sqrt(np.mean((0.1 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32) ** 2)))
    theirs = 20 * np.log10(samples_rms / cpu_draws(entry, "noise_std"))
    assert same(batch_draws(entry, "snr_db"), theirs) > 1e-3


@pytest.mark.parametrize("band", [0, 3, 6])
def test_equalizer_bands_draw_as_audiomentations_does(band: int) -> None:
    """Band 0 is its low shelf, 6 its high shelf, the others peaking filters: centre and gain of each."""
    transform = parse([{"name": "eq", "p": 1.0, "min_gain_db": -12, "max_gain_db": 6}])[0].cpu()
    filters = [transform.low_shelf_filter, *transform.peaking_filters, transform.high_shelf_filter]
    samples = np.zeros(SR, dtype=np.float32)
    random.seed(0)
    np.random.seed(0)
    theirs = []
    for _ in range(N):
        transform.randomize_parameters(samples, SR)
        theirs.append((filters[band].parameters["center_freq"], filters[band].parameters["gain_db"]))
    theirs = np.asarray(theirs)
    torch.manual_seed(0)
    ours = parse([{"name": "eq", "p": 1.0, "min_gain_db": -12, "max_gain_db": 6}])[0].draw(N)
    assert same(ours["centers"][:, band].numpy(), theirs[:, 0]) > 1e-3
    assert same(ours["gains_db"][:, band].numpy(), theirs[:, 1]) > 1e-3


def test_the_comparison_can_fail() -> None:
    """Cut-offs uniform in Hz instead of mel are told apart, so the test above has power."""
    torch.manual_seed(0)
    linear = (200 + 1000 * torch.rand(N)).numpy()
    assert same(linear, cpu_draws({"name": "highpass", "p": 1.0, "min_cutoff_freq": 200, "max_cutoff_freq": 1200},
                                  "cutoff_freq")) < 1e-6
    torch.manual_seed(0)
    assert same(mel_uniform(N, 200, 1200).numpy(), linear) < 1e-6


@pytest.mark.parametrize("p", [0.01, 0.3, 0.8])
def test_both_backends_apply_with_probability_p(p: float) -> None:
    entry = {"name": "polarity", "p": p}
    applied_cpu = len(cpu_draws({**entry}, "should_apply", n=4000))
    torch.manual_seed(0)
    applied_batch = int((torch.rand(4000) < p).sum())  # what BatchAugment draws for the rows
    sigma = math.sqrt(4000 * p * (1 - p))
    assert abs(applied_cpu - 4000 * p) < 4 * sigma and abs(applied_batch - 4000 * p) < 4 * sigma


def test_delay_grid_and_one_of_choice() -> None:
    torch.manual_seed(0)
    delays = parse([{"name": "delay", "min_ms": 200, "max_ms": 500, "step_ms": 50}])[0].draw(7000)["delay_ms"]
    values, counts = delays.unique(return_counts=True)
    assert values.tolist() == [200, 250, 300, 350, 400, 450, 500]
    assert counts.min() > 850 and counts.max() < 1150
    one_of = parse([{"name": "one_of", "transforms": [{"name": "gain"}, {"name": "pitch_shift"}]}])[0]
    assert isinstance(one_of, OneOf) and one_of.alters == {"loudness", "pitch"}


@pytest.mark.parametrize("entries,message", [
    ([{"name": "pitch"}], "augment.transforms[0]: unknown transform 'pitch'"),
    ([{"p": 0.5}], "each transform is a mapping with a 'name'"),
    ([{"name": "gain", "min_db": -3}], "augment.transforms[0] (gain): unknown parameter(s) ['min_db']"),
    ([{"name": "gain", "p": 1.5}], "gain: p must be in [0, 1]"),
    ([{"name": "crop", "samples": 100, "p": 0.5}], "crop: p must be 1"),
    ([{"name": "gain"}, {"name": "one_of", "transforms": []}], "augment.transforms[1] (one_of): list at least one"),
    ([{"name": "one_of", "transforms": [{"name": "nope"}]}], "augment.transforms[0].transforms[0]: unknown"),
])
def test_bad_entries_are_named(entries: list, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse(entries)
    assert message in str(err.value)
