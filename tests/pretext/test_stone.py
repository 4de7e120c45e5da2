"""STONE (Kong et al., ISMIR 2024): its losses against hand computations, ChromaNet's equivariance to transposition,
views that carry no label (STONE's and PESTO's), and a real Trainer run whose loss falls."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest
import torch

from ssl_mir.encoders.chromanet import ChromaNet, crop_bins
from ssl_mir.pretext.losses import key_phasor, mode_agreement, stone_key_loss
from ssl_mir.pretext.stone import STONE, transposition_offsets


def _hand_stone(y_a: list[float], y_b: list[float], y_t: list[float], k: int, omega: int = 7) -> float:
    """Eqs. 2-5 of the paper with Python's complex numbers, one clip."""
    z = [sum(p * cmath.exp(2j * math.pi * omega * q / 12) for q, p in enumerate(y)) for y in (y_a, y_b, y_t)]
    target = cmath.exp(2j * math.pi * omega * k / 12)
    return (abs(1 - z[0] * z[1].conjugate()) ** 2 + abs(target - z[0] * z[2].conjugate()) ** 2
            + abs(target - z[1] * z[2].conjugate()) ** 2)


def test_key_loss_equals_hand_computation() -> None:
    rng = np.random.default_rng(0)
    ys = [rng.dirichlet(np.ones(12), size=5) for _ in range(3)]
    shifts = [3, -5, 11, -1, 7]
    for omega in (1, 7):
        hand = np.mean([_hand_stone(*(y[i].tolist() for y in ys), shifts[i], omega) for i in range(5)])
        got = stone_key_loss(*(torch.tensor(y, dtype=torch.float32) for y in ys), torch.tensor(shifts), omega)
        assert math.isclose(float(got), hand, rel_tol=1e-5)


def test_key_loss_is_zero_for_a_confident_equivariant_answer_and_not_otherwise() -> None:
    eye = torch.eye(12)
    for q, k in ((0, 3), (5, -4), (11, 11)):
        a = eye[q][None]
        transposed = eye[(q - k) % 12][None]  # k semitones lower: A's class q reads as q - k
        assert float(stone_key_loss(a, a, transposed, torch.tensor([k]))) < 1e-10
        wrong = float(stone_key_loss(a, a, a, torch.tensor([k])))  # invariant instead of equivariant
        assert math.isclose(wrong, 2 * (2 - 2 * math.cos(2 * math.pi * 7 * k / 12)), rel_tol=1e-5)
    uniform = torch.full((1, 12), 1 / 12)
    assert math.isclose(float(stone_key_loss(uniform, uniform, uniform, torch.tensor([2]))), 3.0, rel_tol=1e-5)


def test_key_phasor_walks_the_circle_of_fifths() -> None:
    re, im = key_phasor(torch.eye(12), omega=7)
    angles = torch.atan2(im, re)
    # C (0) and G (7) are one step apart on the circle of fifths, C and C# (1) seven steps
    step = 2 * math.pi / 12
    assert math.isclose(float((angles[7] - angles[0]) % (2 * math.pi)), 7 * 7 % 12 * step, abs_tol=1e-5)
    assert torch.allclose(re ** 2 + im ** 2, torch.ones(12), atol=1e-6)


def test_mode_agreement_equals_hand_computation() -> None:
    p = [torch.tensor([0.9, 0.2]), torch.tensor([0.6, 0.3]), torch.tensor([0.1, 0.5])]
    hand = []
    for i in range(3):
        for j in range(3):
            if i != j:
                for n in range(2):
                    a, b = float(p[i][n]), float(p[j][n])
                    hand.append(-(a * math.log(b) + (1 - a) * math.log(1 - b)))
    assert math.isclose(float(mode_agreement(*p)), float(np.mean(hand)), rel_tol=1e-5)


def test_transposition_offsets_cover_every_nonzero_shift_inside_the_spare_octave() -> None:
    torch.manual_seed(0)
    original, transposed = transposition_offsets(20000, torch.device("cpu"))
    for offsets in (original, transposed):
        assert int(offsets.min()) == 0 and int(offsets.max()) == 12
    shift = transposed - original
    assert set(shift.tolist()) == set(range(-11, 12)) - {0}


def _tones(midi: list[int], seconds: float = 2.0, rate: int = 16000) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    wave = sum(torch.sin(2 * math.pi * 440 * 2 ** ((m - 69) / 12) * t) for m in midi)
    return 0.1 * wave[None]  # (1, S)


def _pitch_class_maps(encoder: ChromaNet, wave: torch.Tensor, offset: int) -> list[torch.Tensor]:
    cqt = encoder.frontend(wave)
    return encoder.states_from_cqt(crop_bins(cqt, torch.tensor([offset]), encoder.n_bins))


def _trained_briefly(encoder: ChromaNet) -> ChromaNet:
    """A few Adam steps of STONE on chords, so that the weights are no longer the initial ones."""
    torch.manual_seed(1)
    module = STONE(encoder, optimizer=torch.optim.Adam)
    optimiser = torch.optim.Adam(encoder.parameters(), lr=1e-2)
    chords = torch.cat([_tones([48 + r, 52 + r, 55 + r]) for r in range(4)])  # (4, S)
    for _ in range(3):
        views = torch.stack([chords, chords.roll(4000, dims=1)], dim=1)  # (4, 2, S)
        loss = module.training_step({"views": views}, 0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return encoder.eval()


@pytest.mark.parametrize("trained", [False, True], ids=["untrained", "trained"])
def test_chromanet_shifting_the_input_by_k_bins_shifts_every_map_by_k(trained: bool) -> None:
    """Bin by bin, away from the crop's edges (by the receptive field), the maps of a crop k bins higher are the
    base maps moved down by k; and the clip's key distribution rolls by k classes, up to what the crop's edges bring
    into the octave average."""
    torch.manual_seed(0)
    encoder = ChromaNet(channels=[4, 8], time_pools=[2, 1]).eval()
    if trained:
        encoder = _trained_briefly(encoder)
    wave = _tones([50, 57, 62, 66])  # a D major chord in the middle octaves, away from the crop's edges
    edge = 2 * (encoder.blocks[0][0].kernel_size[0] // 2) + 1  # two layers of half-kernels, and the shift
    with torch.no_grad():
        cqt = encoder.frontend(wave)
        for k in (1, 5, -4):
            crops = [crop_bins(cqt, torch.tensor([offset]), encoder.n_bins) for offset in (6, 6 + k)]
            base, moved = (encoder.feature_maps(c) for c in crops)  # moved: the music k semitones lower
            for b, m in zip(base, moved):
                inner = slice(edge + 5, encoder.n_bins - edge - 5)
                assert torch.allclose(m[:, :, inner], b.roll(-k, dims=2)[:, :, inner], atol=1e-4, rtol=1e-4)
            keys = [torch.softmax(encoder.key_logits(encoder.states_from_cqt(c)[-1]).flatten(), 0).view(2, 12)
                    for c in crops]
            error = float((keys[1] - keys[0].roll(-k, dims=1)).abs().max())
            assert error < 0.02, (k, error)
            assert float((keys[1] - keys[0]).abs().max()) > 2 * error  # the shift is not invisible


def _pesto() -> torch.nn.Module:
    from ssl_mir.pretext import PESTO
    from tests.pretext.test_pesto import _small_net

    return PESTO(_small_net())


@pytest.mark.parametrize("make,views", [(lambda: STONE(ChromaNet(channels=[4, 4], time_pools=[2, 1])), 2),
                                        (_pesto, 1)], ids=["stone", "pesto"])
def test_views_carry_no_label(make, views: int) -> None:
    """The equivariant methods' steps read the views alone: the same views with other labels give the same loss."""
    torch.manual_seed(0)
    module = make()
    batch = torch.randn(4, views, 16000) * 0.1
    losses = []
    for labels in (torch.zeros(4, dtype=torch.long), torch.arange(4)):
        torch.manual_seed(3)
        losses.append(float(module.training_step({"views": batch, "key": labels, "pitch": labels}, 0)))
    assert losses[0] == losses[1]


def test_stone_refuses_an_encoder_without_a_spare_octave() -> None:
    from ssl_mir.encoders import ShortChunkCNN

    with pytest.raises(ValueError, match="STONE needs a ChromaNet"):
        STONE(ShortChunkCNN(channels=[4]))  # type: ignore[arg-type]


def test_invariant_equivariant_sends_each_loss_to_its_own_part() -> None:
    """SimCLR's loss moves the invariant part only, STONE's the equivariant part only; the sum is their weighted
    sum."""
    from ssl_mir.encoders import ShortChunkCNN, TwoPart
    from ssl_mir.pretext import InvariantEquivariant

    torch.manual_seed(0)
    encoder = TwoPart(ShortChunkCNN(channels=[4, 8], n_mels=16), ChromaNet(channels=[4, 4], time_pools=[2, 1]))
    module = InvariantEquivariant(encoder, stone_weight=0.5, mode_weight=2.0)
    views = torch.randn(4, 2, 16000) * 0.1
    logged: dict[str, torch.Tensor] = {}
    module.log_dict = lambda values, **_: logged.update(values)  # type: ignore[method-assign]
    torch.manual_seed(5)
    loss = module.training_step({"views": views}, 0)
    expected = logged["train/simclr"] + 0.5 * (logged["train/key_loss"] + 2.0 * logged["train/mode_loss"])
    assert torch.allclose(loss, expected)
    for name, part in (("train/simclr", encoder.equivariant), ("train/key_loss", encoder.invariant)):
        grads = torch.autograd.grad(logged[name], list(part.parameters()), allow_unused=True, retain_graph=True)
        assert all(g is None or not g.any() for g in grads), name
    with pytest.raises(ValueError, match="equivariant part is a ChromaNet"):
        InvariantEquivariant(TwoPart(ShortChunkCNN(channels=[4]), ShortChunkCNN(channels=[4])))


def test_mode_pseudo_labels_follow_krumhansl_kessler_in_any_key() -> None:
    from ssl_mir.pretext.stone import mode_pseudo_labels

    c_major = torch.tensor([1.0, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1])  # the C major scale, tonic triad stressed
    c_major[[0, 4, 7]] += 2
    a_minor = torch.tensor([1.0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1])  # A harmonic minor (G#), its triad stressed
    a_minor[[9, 0, 4]] += 2
    profiles = torch.stack([c_major, a_minor, c_major.roll(5), a_minor.roll(-3)])
    assert mode_pseudo_labels(profiles).tolist() == [1.0, 0.0, 1.0, 0.0]


def test_stone_logs_the_mode_prior_and_weighs_it_in_when_asked() -> None:
    torch.manual_seed(0)
    encoder = ChromaNet(channels=[4, 4], time_pools=[2, 1])
    views = torch.randn(4, 2, 16000) * 0.1
    losses = []
    for weight in (0.0, 2.0):
        module = STONE(encoder, mode_prior_weight=weight)
        logged: dict[str, torch.Tensor] = {}
        module.log_dict = lambda values, **_: logged.update(values)  # type: ignore[method-assign]
        torch.manual_seed(3)
        losses.append(module.training_step({"views": views}, 0))
        expected = logged["train/key_loss"] + 1.5 * logged["train/mode_loss"] + weight * logged["train/mode_prior"]
        assert torch.allclose(losses[-1], expected) and float(logged["train/mode_prior"]) > 0
    assert float(losses[1]) > float(losses[0])
