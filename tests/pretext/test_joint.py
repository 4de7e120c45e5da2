import torch

from ssl_mir.encoders import ShortChunkCNN
from ssl_mir.pretext import COLA, SimCLRCOLA
from ssl_mir.pretext.losses import bilinear_contrastive, nt_xent


def _tiny(weight: float) -> SimCLRCOLA:
    torch.manual_seed(0)
    return SimCLRCOLA(ShortChunkCNN(n_mels=32, channels=[4, 8]), projection_dim=8, cola_dim=16, cola_weight=weight)


def test_loss_is_nt_xent_plus_the_weighted_bilinear_loss_by_hand() -> None:
    method = _tiny(0.5)
    method.eval()  # batch norm on running statistics: the same embeddings in both passes
    views = torch.randn(4, 2, 8000)
    with torch.no_grad():
        loss = method.training_step({"views": views}, 0)
        h = method.encoder.embed(views.flatten(0, 1)).view(4, 2, -1)
        z = method.projector(h)
        g = method.bilinear.net(h)
        expected = nt_xent(z[:, 0], z[:, 1], 0.1) + 0.5 * bilinear_contrastive(g[:, 0], g[:, 1],
                                                                              method.bilinear.similarity.weight)
    torch.testing.assert_close(loss, expected)


def test_the_second_term_is_colas_loss_with_the_same_weights() -> None:
    """SimCLRCOLA(w = 1) - SimCLRCOLA(w = 0) equals COLA with the same encoder and head; at w = 0 the head gets no
    gradient."""
    trained = _tiny(0.0)
    trained.training_step({"views": torch.randn(4, 2, 8000)}, 0).backward()
    assert all(p.grad is None or not p.grad.any() for p in trained.bilinear.parameters())
    simclr_only, joint = _tiny(0.0), _tiny(1.0)
    cola = COLA(ShortChunkCNN(n_mels=32, channels=[4, 8]), projection_dim=16)
    cola.load_state_dict({k.replace("bilinear.", "head."): v for k, v in joint.state_dict().items()
                          if not k.startswith("projector.")})
    for m in (simclr_only, joint, cola):
        m.eval()
    views = torch.randn(4, 2, 8000)
    with torch.no_grad():
        difference = joint.training_step({"views": views}, 0) - simclr_only.training_step({"views": views}, 0)
        torch.testing.assert_close(difference, cola.training_step({"views": views}, 0))


def test_loss_falls_on_one_batch() -> None:
    method = _tiny(1.0)
    clips = torch.randn(8, 1, 8000)
    views = clips + 0.1 * torch.randn(8, 2, 8000)  # two noisy copies of each clip
    optimizer = torch.optim.Adam(method.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = method.training_step({"views": views}, 0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
