"""PESTO: pitch learnt from transposition of single CQT frames, whose size in bins is known for free."""

from __future__ import annotations

from typing import Any

import torch
from pytorch_lightning.cli import LRSchedulerCallable, OptimizerCallable

from ssl_mir.encoders.chromanet import crop_bins
from ssl_mir.encoders.pitchnet import PitchNet
from ssl_mir.pretext.base import PretextModule
from ssl_mir.pretext.pitch_losses import equivariance_loss, invariance_loss, shifted_cross_entropy

TERMS = ("invariance", "shift_entropy", "equivariance")


def frame_views(frames: torch.Tensor, max_shift: int, n_bins: int,
                noise: tuple[float, float], gain: tuple[float, float],
                p: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """PESTO's three views of uncropped CQT frames (N, 1, F): the frame at the centre crop, the same with noise and
    gain (each with probability `p`: Gaussian noise of std SNR · the frame's std, SNR uniform in `noise`; a gain
    uniform in `gain` on the log scale), and the augmented frame transposed up by k bins, k uniform in
    ±`max_shift` (drawn separately for the transposed view's own augmentation). Returns the views (N, 1, n_bins)
    each and k (N,)."""
    n = len(frames)
    shift = torch.randint(-max_shift, max_shift + 1, (n,), device=frames.device)
    transposed = crop_bins(frames, max_shift - shift, n_bins)  # a crop k bins lower: the content k bins higher
    centre = frames[..., max_shift:max_shift + n_bins]

    def augment(x: torch.Tensor) -> torch.Tensor:
        snr = torch.empty(n, 1, 1, device=x.device).uniform_(*noise) * (torch.rand(n, 1, 1, device=x.device) < p)
        scale = torch.empty(n, 1, 1, device=x.device).uniform_(*gain)
        scale = torch.where(torch.rand(n, 1, 1, device=x.device) < p, scale, torch.ones_like(scale))
        return scale * (x + snr * x.std(dim=-1, keepdim=True) * torch.randn_like(x))

    return centre, augment(centre), augment(transposed), shift


class PESTO(PretextModule):
    """Riou, Lattner, Hadjeres & Peeters, "PESTO: Pitch Estimation with Self-supervised Transposition-equivariant
    Objective" (ISMIR 2023).

    Each clip of the batch (every view the data module gives) is turned into CQT frames, of which `frames_per_clip`
    are drawn. Each frame is seen three ways (`frame_views`): as it is (y), with noise and gain (ỹ), and with noise
    and gain transposed k bins (ỹ_k). The losses: ỹ must equal y (`invariance_loss`), ỹ_k must be ỹ moved k bins
    (`shifted_cross_entropy`) and its pitch ratio α^k (`equivariance_loss`). With `balance`, each term's weight is
    1 − its share of the three terms' gradient norms at the last layer (an EMA at rate `ema_rate`: PESTO's
    GradientsLossWeighting), so no term dominates by its scale alone; otherwise `weights` fixes them.

    Args:
        encoder: a PitchNet.
        frames_per_clip: CQT frames drawn from each clip per step.
        weights: of invariance, shift_entropy and equivariance (the starting point when balanced).
        balance: weigh the terms by their gradient norms at the last layer.
        ema_rate: of those norms.
        noise: SNR range of the noise augmentation.
        gain: range of the gain augmentation.
        p_augment: probability of each augmentation.
        optimizer: builds the optimiser.
        scheduler: optional per-step scheduler.
        kwargs: `PretextModule` options.
    """

    def __init__(
        self,
        encoder: PitchNet,
        frames_per_clip: int = 8,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        balance: bool = True,
        ema_rate: float = 0.99,
        noise: tuple[float, float] = (0.1, 2.0),
        gain: tuple[float, float] = (0.5, 1.5),
        p_augment: float = 0.7,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(encoder, optimizer, scheduler, **kwargs)
        if not isinstance(encoder, PitchNet):
            raise ValueError(f"PESTO needs a PitchNet encoder (CQT frames with spare bins to transpose by cropping), "
                             f"got {type(encoder).__name__}")
        if frames_per_clip < 1:
            raise ValueError(f"frames_per_clip {frames_per_clip} must be at least 1")
        self.frames_per_clip, self.balance, self.ema_rate = frames_per_clip, balance, ema_rate
        self.noise, self.gain, self.p_augment = noise, gain, p_augment
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))
        self.register_buffer("grad_norms", torch.zeros(3))  # EMA per term; 0 until the first balanced step

    def draw_frames(self, views: torch.Tensor) -> torch.Tensor:
        """(B, V, S) clips → (B · V · frames_per_clip, 1, F) uncropped CQT frames, drawn uniformly in time."""
        frames = self.encoder.frames_of(views.flatten(0, 1))  # type: ignore[operator]  # (N, T, 1, F)
        n, t = frames.shape[:2]
        pick = torch.randint(0, t, (n, self.frames_per_clip), device=frames.device)
        return frames[torch.arange(n, device=frames.device).view(-1, 1), pick].flatten(0, 1)  # (N · frames, 1, F)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        net: PitchNet = self.encoder  # type: ignore[assignment]
        frames = self.draw_frames(batch["views"])
        centre, augmented, transposed, shift = frame_views(frames, net.max_shift, net.n_bins, self.noise, self.gain,
                                                           self.p_augment)
        logits = net.frame_states(torch.cat([centre, augmented, transposed]))[1]  # (3N, out_bins)
        y, y_a, y_t = torch.softmax(logits.float(), dim=-1).chunk(3)
        terms = torch.stack([invariance_loss(y, y_a), shifted_cross_entropy(y_a, y_t, shift),
                             equivariance_loss(y_a, y_t, shift, net.bins_per_semitone)])
        if self.balance and torch.is_grad_enabled():
            self.rebalance(terms)
        loss = (self.weights * terms).sum()
        self.log_dict({"train/loss": loss, **{f"train/{k}": v for k, v in zip(TERMS, terms)},
                       **{f"train/{k}_weight": w for k, w in zip(TERMS, self.weights)}},
                      prog_bar=True, batch_size=len(frames))
        return loss

    def rebalance(self, terms: torch.Tensor) -> None:
        """Move each term's gradient-norm EMA at the last layer and set the weights to 1 − its share."""
        last = self.encoder.head.kernel  # type: ignore[union-attr]
        norms = torch.stack([torch.autograd.grad(term, last, retain_graph=True)[0].norm() for term in terms])
        started = self.grad_norms.sum() > 0
        self.grad_norms.copy_(torch.where(started, self.ema_rate * self.grad_norms + (1 - self.ema_rate) * norms,
                                          norms))
        self.weights.copy_(1 - self.grad_norms / self.grad_norms.sum().clamp_min(1e-7))
