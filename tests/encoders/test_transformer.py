import pytest
import torch

from ssl_mir.encoders import PatchTransformer


@pytest.mark.parametrize("patch_freq", [16, 64])  # 2D patches (Audio-MAE) and frame patches (MSM-MAE)
@pytest.mark.parametrize("samples", [16000, 32768, 50000])
def test_frames_and_hidden_states_have_the_documented_shapes(patch_freq: int, samples: int) -> None:
    enc = PatchTransformer(n_mels=64, patch_freq=patch_freq, patch_time=4, dim=32, depth=3, heads=2).eval()
    wave = torch.randn(2, samples)
    t = (samples // 256 + 1) // 4  # spectrogram frames (centred STFT) in whole patches
    patches, grid = enc.patches(wave)
    assert grid == (64 // patch_freq, t) and patches.shape == (2, grid[0] * t, patch_freq * 4)
    states = enc.hidden_states(wave)
    assert [h.shape for h in states] == [(2, t, 32)] * 3
    assert enc(wave).shape == (2, t, 32) and enc.embed(wave).shape == (2, 32)
    assert enc.frame_rate == pytest.approx(16000 / 256 / 4)


def test_patches_are_the_log_mel_cut_frequency_major() -> None:
    enc = PatchTransformer(n_mels=32, patch_freq=16, patch_time=2, dim=16, depth=1, heads=2)
    wave = torch.randn(1, 4000)
    mel = enc.frontend(wave)[0, 0]  # (32, T)
    patches, (f, t) = enc.patches(wave)
    assert torch.equal(patches[0, 0], mel[:16, :2].reshape(-1))  # band block 0, time 0
    assert torch.equal(patches[0, 1], mel[:16, 2:4].reshape(-1))  # band block 0, time 1
    assert torch.equal(patches[0, t], mel[16:, :2].reshape(-1))  # band block 1, time 0


def test_learned_positions_interpolate_beyond_the_table_and_sinusoidal_ones_extend() -> None:
    learned = PatchTransformer(dim=16, depth=1, heads=2, positions="learned", max_time_patches=8).eval()
    long = torch.randn(1, 256 * 4 * 20)  # 20 time patches > 8 in the table
    assert learned(long).shape == (1, 20, 16)
    assert learned.positions((4, 20)).shape == (80, 16) and learned.positions((4, 5)).shape == (20, 16)
    sinusoidal = PatchTransformer(dim=16, depth=1, heads=2).eval()
    assert torch.equal(sinusoidal.positions((4, 30)).view(4, 30, 16)[:, :10],
                       sinusoidal.positions((4, 10)).view(4, 10, 16))  # a position's code does not depend on length


def test_concat_frames_hold_each_frequency_patch_in_place_and_average_to_the_mean_frames() -> None:
    torch.manual_seed(0)
    mean = PatchTransformer(n_mels=64, patch_freq=16, dim=8, depth=2, heads=2).eval()
    concat = PatchTransformer(n_mels=64, patch_freq=16, dim=8, depth=2, heads=2, frequency="concat").eval()
    concat.load_state_dict(mean.state_dict())  # the option adds no parameters
    wave = torch.randn(2, 16000)
    patches, grid = mean.patches(wave)
    with torch.no_grad():
        tokens = mean.encode(mean.tokens(patches) + mean.positions(grid))[-1].view(2, *grid, 8)  # (B, F', T', D)
        framed = concat(wave)  # (B, T', F'·D)
    assert concat.embed_dim == 32 and concat.token_dim == 8 and framed.shape == (2, grid[1], 32)
    assert torch.allclose(framed[:, 5, 8:16], tokens[:, 1, 5])  # time step 5, frequency patch 1
    assert torch.allclose(framed.view(2, grid[1], 4, 8).mean(dim=2), mean(wave), atol=1e-6)
    with pytest.raises(ValueError, match="frequency must be mean or concat"):
        PatchTransformer(frequency="sum")  # type: ignore[arg-type]


def test_bad_geometry_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="n_mels 64 is not a multiple of patch_freq 24"):
        PatchTransformer(n_mels=64, patch_freq=24)
    with pytest.raises(ValueError, match="shorter than one patch of 4 frames"):
        PatchTransformer(dim=16, depth=1, heads=2)(torch.randn(1, 300))


def test_cpu_attention_is_the_textbook_formula_in_fp32_and_bf16() -> None:
    """softmax(QKᵀ/√d)V with its gradients: in fp32 (torch's kernel) and in bf16 (written out), against the formula in
    fp64; dropout applies to the attention weights."""
    import math

    from ssl_mir.encoders.transformer import attention

    torch.manual_seed(0)
    q, k, v = (2 * torch.randn(3, 2, 4, 16, 8, dtype=torch.float64)).unbind(0)  # (B, H, N, d) each
    weights = torch.randn(2, 4, 16, 8, dtype=torch.float64)  # a random upstream gradient

    def value_and_grads(dtype: torch.dtype, fn) -> list[torch.Tensor]:  # noqa: ANN001
        leaves = [t.to(dtype).clone().requires_grad_() for t in (q, k, v)]
        out = fn(*leaves)
        (out.double() * weights).sum().backward()
        return [out.double(), *(t.grad.double() for t in leaves)]

    expected = value_and_grads(torch.float64, lambda a, b, c: torch.softmax(a @ b.transpose(-2, -1) / math.sqrt(8),
                                                                           dim=-1) @ c)
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 0.1)):
        got = value_and_grads(dtype, lambda a, b, c: attention(a, b, c, 0.0))
        assert got[0].dtype == torch.float64 and attention(q.to(dtype), k.to(dtype), v.to(dtype), 0.0).dtype == dtype
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e, rtol=tol, atol=tol)
    assert not attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), 1.0).any()  # every weight dropped
