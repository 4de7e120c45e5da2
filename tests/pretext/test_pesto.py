"""PESTO (Riou et al., ISMIR 2023): its losses against hand computations, PitchNet's exact equivariance to shifts of
its input, the gradient-norm weighting, and a loss that falls (views that carry no label: test_stone.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ssl_mir.encoders.pitchnet import PitchNet, ToeplitzLinear
from ssl_mir.pretext.pesto import PESTO, frame_views
from ssl_mir.pretext.pitch_losses import equivariance_loss, invariance_loss, shift_bins, shifted_cross_entropy


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _shift(p: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros_like(p)
    for i in range(len(p)):
        if 0 <= i - k < len(p):
            out[i] = p[i - k]
    return out


def _huber(x: float, tau: float) -> float:
    return x * x / 2 if abs(x) <= tau else tau * tau / 2 + tau * (abs(x) - tau)


def _ce(y: np.ndarray, target: np.ndarray) -> float:
    """PESTO's cross-entropy: of the target against the softmax of the distribution y itself."""
    return float(-(target * np.log(_softmax(y))).sum())


def test_cross_entropies_equal_hand_computation() -> None:
    rng = np.random.default_rng(0)
    ys, ys_t = rng.dirichlet(np.ones(7), size=3), rng.dirichlet(np.ones(7), size=3)
    shifts = [2, -3, 0]
    inv = [(_ce(y, y_t) + _ce(y_t, y)) / 2 for y, y_t in zip(ys, ys_t)]
    sce = [(_ce(y_t, _shift(y, k)) + _ce(y, _shift(y_t, -k))) / 2 for y, y_t, k in zip(ys, ys_t, shifts)]
    y, y_t = torch.tensor(ys, dtype=torch.float32), torch.tensor(ys_t, dtype=torch.float32)
    assert math.isclose(float(invariance_loss(y, y_t)), float(np.mean(inv)), rel_tol=1e-5)
    assert math.isclose(float(shifted_cross_entropy(y, y_t, torch.tensor(shifts))), float(np.mean(sce)), rel_tol=1e-5)
    assert shift_bins(torch.tensor([[1.0, 2, 3, 4]]), torch.tensor([1])).tolist() == [[0.0, 1, 2, 3]]
    assert shift_bins(torch.tensor([[1.0, 2, 3, 4]]), torch.tensor([-2])).tolist() == [[3.0, 4, 0, 0]]


def test_cross_entropies_reward_agreeing_on_one_peak() -> None:
    """Against a fixed target, a distribution on the target's peak scores lower than the target itself when the
    target is spread (the cross-entropy of logits would be lowest at the target); no gradient reaches the target."""
    spread = torch.tensor([[0.1, 0.3, 0.4, 0.2]])
    peaked = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    assert float(invariance_loss(peaked, peaked)) < float(invariance_loss(spread, spread))
    y = spread.clone().requires_grad_()
    target = spread.clone().requires_grad_()
    invariance_loss(y, target.detach()).backward()
    assert y.grad is not None and target.grad is None


def test_equivariance_loss_equals_hand_computation() -> None:
    rng = np.random.default_rng(1)
    ys, ys_t = rng.dirichlet(np.ones(9) * 0.3, size=4), rng.dirichlet(np.ones(9) * 0.3, size=4)
    shifts, bins_per_semitone, tau = [1, -2, 4, 0], 1, 0.05
    alpha = 2 ** (1 / 12)
    hand = []
    for y, y_t, k in zip(ys, ys_t, shifts):
        weights = alpha ** np.arange(-8, 1)
        phi, phi_t = y @ weights, y_t @ weights
        hand.append((_huber(phi_t / phi - alpha ** k, tau) + _huber(phi / phi_t - alpha ** -k, tau)) / 2)
    assert any(abs(h) > tau ** 2 / 2 for h in hand)  # both branches of the Huber loss are exercised
    got = equivariance_loss(torch.tensor(ys, dtype=torch.float32), torch.tensor(ys_t, dtype=torch.float32),
                            torch.tensor(shifts), bins_per_semitone, tau)
    assert math.isclose(float(got), float(np.mean(hand)), rel_tol=1e-4)


def test_losses_are_least_for_a_confident_equivariant_answer() -> None:
    y = torch.zeros(1, 40)
    y[0, 12] = 1.0
    moved = y.roll(5, dims=1)  # the transposed view's peak 5 bins higher
    k = torch.tensor([5])
    assert float(equivariance_loss(y, moved, k)) < 1e-8
    assert float(equivariance_loss(y, y, k)) > 1e-5  # an invariant answer is penalised
    assert float(shifted_cross_entropy(y, moved, k)) < float(shifted_cross_entropy(y, y, k))


def test_toeplitz_layer_moves_its_output_with_its_input() -> None:
    torch.manual_seed(0)
    layer = ToeplitzLinear(3, 20, 30)
    x = torch.zeros(1, 20, 3)
    x[0, 8:11] = torch.randn(3, 3)
    for k in (-5, 2, 7):
        inner = slice(max(k, 0), 30 + min(k, 0))  # output bins whose shifted source is an output bin too
        assert torch.allclose(layer(x.roll(k, dims=1))[:, inner], layer(x).roll(k, dims=1)[:, inner], atol=1e-6)


def _tone(midi: float, seconds: float = 0.5, rate: int = 16000) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    f0 = 440 * 2 ** ((midi - 69) / 12)
    return 0.3 * sum(torch.sin(2 * math.pi * h * f0 * t) / h for h in range(1, 5))[None]  # (1, S)


def _small_net() -> PitchNet:
    return PitchNet(n_octaves=6, max_shift=8, channels=[8, 6, 2], kernel=7, out_bins=180, dropout=0.0)


def _trained_briefly(net: PitchNet, steps: int = 4) -> tuple[PitchNet, list[float]]:
    """Adam steps of PESTO on harmonic tones at random pitches, with fixed weights, so the loss can be compared."""
    torch.manual_seed(1)
    module = PESTO(net, balance=False, frames_per_clip=4)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    clips = torch.cat([_tone(m) for m in torch.randint(40, 80, (16,)).tolist()])[:, None]  # (16, 1, S)
    losses = []
    for _ in range(steps):
        loss = module.training_step({"views": clips}, 0)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    return net.eval(), losses


@pytest.mark.parametrize("trained", [False, True], ids=["untrained", "trained"])
def test_pitchnet_shifting_a_frame_by_k_bins_shifts_every_map_and_the_logits_by_k(trained: bool) -> None:
    """Exact for a frame whose background is silent (0, the CQT's floor): bin by bin for the maps, and for the logits
    over all output bins the shift keeps inside; and on a real tone's CQT, the distribution's peak moves by k."""
    torch.manual_seed(0)
    net = _small_net().eval()
    if trained:
        net, _ = _trained_briefly(net)
    frame = torch.zeros(1, 1, net.n_bins)
    frame[0, 0, 60:75] = torch.rand(15)
    with torch.no_grad():
        maps, logits = net.frame_states(frame)
        for k in (-9, 1, 13):
            moved_maps, moved_logits = net.frame_states(frame.roll(k, dims=2))
            assert torch.allclose(moved_maps, maps.roll(k, dims=1), atol=1e-6)
            inner = slice(max(k, 0), logits.shape[1] + min(k, 0))
            assert torch.allclose(moved_logits[:, inner], logits.roll(k, dims=1)[:, inner], atol=1e-5, rtol=1e-5)
        cqt = net.frames_of(_tone(62.0))[0, 10]  # (1, F): one frame of a tone, all its bins
        for k in (-8, 3, 8):
            crops = torch.stack([cqt[:, net.max_shift:net.max_shift + net.n_bins],
                                 cqt[:, net.max_shift - k:net.max_shift - k + net.n_bins]])  # the second k bins up
            logits = net.frame_states(crops)[1]
            inner = slice(max(k, 0), logits.shape[1] + min(k, 0))
            error = float((logits[1] - logits[0].roll(k))[inner].abs().max())
            assert error < 0.1 * float(logits[0].max() - logits[0].min())  # the CQT floor is not 0 near a tone
            assert int(logits[1].argmax()) - int(logits[0].argmax()) == k


def test_frame_views_transpose_by_the_drawn_shift_and_cover_every_shift() -> None:
    torch.manual_seed(0)
    frames = torch.rand(4000, 1, 40)
    centre, augmented, transposed, shift = frame_views(frames, 5, 30, (0.1, 2.0), (0.5, 1.5), p=0.0)
    assert set(shift.tolist()) == set(range(-5, 6))
    assert torch.equal(augmented, centre)  # p = 0: no augmentation
    for n in range(50):
        k = int(shift[n])
        assert torch.equal(transposed[n, 0, max(k, 0):30 + min(k, 0)], centre[n, 0, max(-k, 0):30 - max(k, 0)])
    _, augmented, _, _ = frame_views(frames, 5, 30, (0.1, 2.0), (0.5, 1.5), p=1.0)
    assert not torch.equal(augmented, centre)


def test_terms_are_weighed_by_their_gradient_norms_at_the_last_layer() -> None:
    """First balanced step: the EMA starts at the norms themselves; each weight is 1 − its share; the loss is the
    weighted sum of the logged terms."""
    torch.manual_seed(0)
    module = PESTO(_small_net(), ema_rate=0.9)
    logged: dict[str, torch.Tensor] = {}
    module.log_dict = lambda values, **_: logged.update(values)  # type: ignore[method-assign]
    loss = module.training_step({"views": torch.cat([_tone(50), _tone(67)])[:, None]}, 0)
    terms = [logged[f"train/{k}"] for k in ("invariance", "shift_entropy", "equivariance")]
    norms = torch.stack([torch.autograd.grad(t, module.encoder.head.kernel, retain_graph=True)[0].norm()
                         for t in terms])
    assert torch.allclose(module.weights, 1 - norms / norms.sum(), atol=1e-5)
    assert math.isclose(float(module.weights.sum()), 2.0, rel_tol=1e-5)
    assert torch.allclose(loss, sum(w * t for w, t in zip(module.weights, terms)))


def test_pesto_loss_falls_and_refuses_another_encoder() -> None:
    torch.manual_seed(0)
    _, losses = _trained_briefly(_small_net(), steps=40)
    # from the uniform answer (2 log 180 = 10.4) towards the floor of one agreed peak (2 (log(179 + e) − 1) = 8.4),
    # step-to-step noise 0.02; 4 initialisations measured 1.3 to 1.55 lower
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.5
    from ssl_mir.encoders import ShortChunkCNN

    with pytest.raises(ValueError, match="PESTO needs a PitchNet"):
        PESTO(ShortChunkCNN(channels=[4]))  # type: ignore[arg-type]
