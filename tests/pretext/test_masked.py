"""MAE and BEST-RQ: masking, losses against hand computations, no leak of masked patches, deterministic targets."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ssl_mir.encoders import PatchTransformer
from ssl_mir.pretext import MAE, BestRQ
from ssl_mir.pretext.heads import MAEDecoder
from ssl_mir.pretext.losses import masked_ce, masked_mean, masked_mse
from ssl_mir.pretext.masking import masked_count, patch_mask, random_subset, span_mask, split_indices
from ssl_mir.pretext.targets import RandomProjectionTargets, TokenFeatures, cqt_steps, kmeans

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def tiny(**kw: object) -> PatchTransformer:
    return PatchTransformer(n_mels=32, patch_freq=16, patch_time=4, dim=32, depth=2, heads=2, **kw)


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.75, 0.9])
def test_random_masks_realise_the_configured_ratio_in_every_sample(ratio: float) -> None:
    torch.manual_seed(0)
    mask = patch_mask(8, (4, 25), ratio)
    assert mask.shape == (8, 100) and (mask.sum(1) == round(ratio * 100)).all()
    visible, hidden = split_indices(mask, masked_count((4, 25), ratio))
    assert visible.shape == (8, 100 - round(ratio * 100)) and not mask.gather(1, visible).any()
    assert mask.gather(1, hidden).all() and (visible.diff(dim=1) > 0).all() and (hidden.diff(dim=1) > 0).all()
    assert not torch.equal(mask[0], mask[1]) or ratio == 0.0  # drawn per sample


def test_structured_masks_cover_whole_columns_or_rows() -> None:
    torch.manual_seed(0)
    time = patch_mask(4, (4, 10), 0.3, "time").view(4, 4, 10)
    assert (time == time[:, :1]).all() and (time[:, 0].sum(1) == 3).all()  # same time steps in every band
    freq = patch_mask(4, (4, 10), 0.5, "frequency").view(4, 4, 10)
    assert (freq == freq[:, :, :1]).all() and (freq[:, :, 0].sum(1) == 2).all()


def test_span_masks_realise_the_expected_ratio() -> None:
    """A step is masked unless no span started within the `length` steps up to it: 1 - (1 - p)^length, less at the
    start where fewer steps can start a span covering it."""
    torch.manual_seed(0)
    p, length, t = 0.1, 5, 400
    mask = span_mask(500, (2, t), p, length).view(500, 2, t)
    assert (mask[:, 0] == mask[:, 1]).all()  # whole time steps
    expected = sum(1 - (1 - p) ** min(j + 1, length) for j in range(t)) / t
    assert mask.float().mean().item() == pytest.approx(expected, abs=0.01)
    assert span_mask(64, (1, 8), 0.0, 3).any(dim=1).all()  # at least one span per sample


def test_masked_mse_equals_a_hand_computation() -> None:
    pred = torch.zeros(1, 2, 3)
    patches = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]]])
    mask = torch.tensor([[True, False]])
    # Only patch 0 counts. Normalised: mean 2, unbiased variance 1 → (-1, 0, 1); squared error mean = 2/3.
    assert masked_mse(pred, patches, mask, normalise=True, eps=0.0).item() == pytest.approx(2 / 3)
    assert masked_mse(pred, patches, mask, normalise=False).item() == pytest.approx(14 / 3)


def test_masked_ce_equals_a_hand_computation() -> None:
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0], [5.0, -5.0]]])
    targets = torch.tensor([[1, 0, 0]])
    mask = torch.tensor([[True, True, False]])
    expected = (-math.log(math.exp(0) / (math.exp(2) + 1)) + math.log(2)) / 2
    assert masked_ce(logits, targets, mask).item() == pytest.approx(expected, rel=1e-6)


def test_mae_encoder_never_sees_masked_patches() -> None:
    torch.manual_seed(0)
    mae = MAE(tiny(), mask_ratio=0.75).eval()
    patches, grid = mae.encoder.patches(torch.randn(2, 16000))
    mask = patch_mask(2, grid, 0.75)
    keep = split_indices(mask, masked_count(grid, 0.75))[0]
    changed = patches.clone()
    changed[mask] = 100.0 * torch.randn(int(mask.sum()), patches.shape[-1])
    with torch.no_grad():
        torch.testing.assert_close(mae.encode_visible(changed, grid, keep), mae.encode_visible(patches, grid, keep),
                                   rtol=0, atol=0)
        visible_changed = patches.clone()
        visible_changed[~mask] += 1.0
        assert not torch.allclose(mae.encode_visible(visible_changed, grid, keep),
                                  mae.encode_visible(patches, grid, keep))


@pytest.mark.parametrize("frequency", ["mean", "concat"])  # MAE works on tokens whatever the frames are
@pytest.mark.parametrize("predict_ratio", [1.0, 0.25])
def test_mae_step_shapes_and_loss_falls_on_one_batch(frequency: str, predict_ratio: float) -> None:
    torch.manual_seed(0)
    mae = MAE(tiny(frequency=frequency), mask_ratio=0.75, decoder_dim=32, decoder_heads=2, predict_ratio=predict_ratio)
    wave = torch.randn(4, 16000)
    pred, target = mae(wave)
    n = mae.encoder.patches(wave)[0].shape[1]
    assert pred.shape == target.shape == (4, round(predict_ratio * round(0.75 * n)), target.shape[-1])
    optimizer = torch.optim.Adam(mae.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        loss = mae.training_step({"views": wave[:, None]}, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_mae_scores_the_patches_the_decoder_was_asked_for() -> None:
    """The targets are the input patches at the queried places: with the masks and subsets drawn again from the same
    seed, the step's targets are those patches, and with mask_ratio 0 every patch (a plain autoencoder)."""
    mae = MAE(tiny(), mask_ratio=0.75, decoder_dim=32, decoder_heads=2, predict_ratio=0.5)
    wave = torch.randn(2, 16000)
    patches, grid = mae.encoder.patches(wave)
    torch.manual_seed(3)
    _, target = mae(wave)
    torch.manual_seed(3)
    queries = random_subset(split_indices(patch_mask(2, grid, 0.75), masked_count(grid, 0.75))[1], 0.5)
    torch.testing.assert_close(target, patches.gather(1, queries[..., None].expand(-1, -1, patches.shape[-1])))
    mae.mask_ratio = 0.0
    assert torch.equal(mae(wave)[1], patches)


def test_random_subset_draws_distinct_members_of_each_row() -> None:
    torch.manual_seed(0)
    rows = torch.stack([torch.randperm(40)[:12] for _ in range(6)])  # (6, 12)
    subset = random_subset(rows, 0.25)
    assert subset.shape == (6, 3)
    for row, chosen in zip(rows.tolist(), subset.tolist()):
        assert set(chosen) <= set(row) and len(set(chosen)) == 3
    assert random_subset(rows, 0.01).shape == (6, 1) and random_subset(rows, 1.0) is rows
    with pytest.raises(ValueError, match="share"):
        random_subset(rows, 0.0)


def test_mae_decoder_predicts_each_patch_from_its_place_not_its_order() -> None:
    """Visible tokens and mask tokens carry their grid positions, so shuffling the queried places shuffles the
    predictions alike, and each prediction depends on where it is: the decoder needs no scatter into the grid."""
    torch.manual_seed(0)
    decoder = MAEDecoder(in_dim=16, patch_dim=8, dim=32, depth=2, heads=2).eval()
    visible, keep, queries = torch.randn(2, 3, 16), torch.tensor([[0, 4, 7], [1, 2, 9]]), torch.tensor([[2, 5], [0, 3]])
    with torch.no_grad():
        out = decoder(visible, keep, queries, (2, 5))  # (B, n + m, P)
        swapped = decoder(visible, keep, queries.flip(1), (2, 5))
        moved = decoder(visible, keep, torch.tensor([[2, 6], [0, 3]]), (2, 5))
    assert out.shape == (2, 5, 8)
    torch.testing.assert_close(swapped[:, 3:], out[:, 3:].flip(1))
    assert not torch.allclose(moved[0, 4], out[0, 4])


def test_bestrq_targets_are_deterministic_for_a_seed_and_frozen() -> None:
    wave, patches, grid = torch.randn(2, 16000), torch.randn(2, 10, 64), (1, 10)
    a, b, c = (RandomProjectionTargets(64, 32, 8, n_codebooks=2, seed=s) for s in (0, 0, 1))
    torch.manual_seed(123)  # the run's seed does not move the quantiser
    targets = a(wave, patches, grid)
    assert torch.equal(targets, b(wave, patches, grid)) and not torch.equal(targets, c(wave, patches, grid))
    assert targets.shape == (2, 10, 2) and not list(a.parameters())
    # By hand: the nearest unit codeword (cosine) of the standardised, projected patch.
    x = torch.nn.functional.layer_norm(patches[0, 3], (64,))
    z = torch.nn.functional.normalize(x @ a.projection[1], dim=0)
    assert targets[0, 3, 1].item() == int((a.codebooks[1] @ z).argmax())


@pytest.mark.parametrize("frequency", ["mean", "concat"])
def test_bestrq_step_predicts_targets_at_masked_positions_only(frequency: str) -> None:
    torch.manual_seed(0)
    model = BestRQ(tiny(frequency=frequency), codebook_size=16, codebook_dim=4, n_codebooks=2, fill="embedding")
    wave = torch.randn(3, 16000)
    torch.manual_seed(1)
    logits, targets, mask, _ = model(wave)
    assert len(logits) == 2 and logits[0].shape == (3, mask.shape[1], 16) and targets.shape == (*mask.shape, 2)
    expected = (masked_ce(logits[0], targets[..., 0], mask) + masked_ce(logits[1], targets[..., 1], mask)) / 2
    torch.manual_seed(1)  # the same mask again
    torch.testing.assert_close(model.training_step({"views": wave[:, None]}, 0), expected)


def test_kmeans_recovers_separated_clusters() -> None:
    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + 0.1 * torch.randn(50, 2, generator=g) for c in centers])
    found = kmeans(x, 3, seed=0)
    assert torch.cdist(centers, found).min(dim=1).values.max() < 0.1
    with pytest.raises(ValueError, match="at least k = 5 points"):
        kmeans(x[:4], 5)


def test_kmeans_targets_round_trip_through_the_targets_command(corpus: Path, tmp_path: Path) -> None:
    """`ssl-mir targets` fits centroids on the corpus; BEST-RQ then predicts the nearest centroid of each patch's
    features, and refuses targets fitted on another patch geometry."""
    from ssl_mir.cli import main

    main(["targets", "-c", str(CONFIGS / "data" / "synthetic.yaml"), "-c", str(CONFIGS / "targets" / "mfcc_kmeans.yaml"),
          "--data.manifest", str(corpus), "--data.num_workers", "0", "--data.batch_size", "4", "--k", "8",
          "--max_patches", "3000", "--out", str(tmp_path / "targets")])
    encoder = PatchTransformer(n_mels=64, patch_freq=64, patch_time=4, dim=32, depth=1, heads=2, mel_mean=-1.0,
                               mel_std=3.5)
    model = BestRQ(encoder, targets=str(tmp_path / "targets"))
    wave = torch.randn(2, 16000)
    patches, grid = encoder.patches(wave)
    targets = model.quantiser(wave, patches, grid)
    features = TokenFeatures("mfcc", encoder)(wave, patches, grid)  # (B, N, 13)
    centroids = model.quantiser.centroids
    assert centroids.shape == (8, 13) and model.heads[0].out_features == 8
    assert torch.equal(targets[..., 0], torch.cdist(features, centroids[None].expand(2, -1, -1)).argmin(-1))
    other = PatchTransformer(n_mels=64, patch_freq=64, patch_time=2, dim=32, depth=1, heads=2, mel_mean=-1.0,
                             mel_std=3.5)
    with pytest.raises(ValueError, match="targets were fitted on patches .*'patch_time': 4.*the encoder makes"):
        BestRQ(other, targets=str(tmp_path / "targets"))


def test_cqt_token_features_and_the_cqt_reconstruction_loss() -> None:
    """A 440 Hz tone: every token's CQT feature peaks at A4 (bin 45 above C1); the auxiliary loss equals the MSE of
    standardised CQT frames at masked steps, computed by hand."""
    encoder = tiny()
    t = torch.arange(16000) / 16000
    wave = torch.sin(2 * torch.pi * 440.0 * t)[None].repeat(2, 1)
    patches, grid = encoder.patches(wave)
    features = TokenFeatures("cqt", encoder)(wave, patches, grid)
    assert features.shape == (2, grid[0] * grid[1], 84) and (features.argmax(-1) == 45).all()
    torch.manual_seed(0)
    model = BestRQ(encoder, codebook_size=16, codebook_dim=4, cqt_weight=0.5)
    _, _, mask, encoded = model(wave)
    b, f, steps = 2, grid[0], grid[1]
    per_step = encoded.view(b, f, steps, -1).mean(1)
    frames = cqt_steps(model.cqt, wave, steps, 4)  # (B, T', 4, 84)
    target = torch.nn.functional.layer_norm(frames, (84,)).flatten(2)
    step_mask = mask.view(b, f, steps)[:, 0]
    expected = ((model.cqt_head(per_step) - target) ** 2)[step_mask].mean()
    torch.testing.assert_close(model.cqt_loss(wave, encoded, mask), expected)


def test_split_indices_refuses_a_mask_with_another_count() -> None:
    mask = torch.tensor([[True, False, False], [True, True, False]])
    with pytest.raises(RuntimeError, match="same number of masked patches"):
        split_indices(mask, 1)


def test_masked_mean_ignores_what_lies_outside_the_mask() -> None:
    values = torch.tensor([[1.0, float("nan")], [3.0, float("inf")]])
    assert masked_mean(values, torch.tensor([[True, False], [True, False]])).item() == 2.0
