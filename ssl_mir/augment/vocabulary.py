"""One vocabulary of waveform augmentations for both backends.

A YAML list such as

    - {name: polarity, p: 0.8}
    - {name: gain, p: 0.3, min_gain_db: -20, max_gain_db: -1}
    - {name: one_of, p: 0.8, transforms: [{name: highpass, p: 1}, {name: lowpass, p: 1}]}

parses into `Transform`s. Each one holds its parameter distribution once and can act in both places: `cpu()` is
the audiomentations transform with the same distribution, run per clip in dataloader workers; `draw` + `apply` run
the batch on the training device (`augment.batch`). Names and parameter names follow audiomentations, so its
documentation describes these too. `changes` says which property of the music a transform alters, which is what
`augment.policy` checks against the labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from audiomentations import AddGaussianSNR, Gain, PolarityInversion
from audiomentations import OneOf as AmOneOf
from audiomentations import PitchShift as AmPitchShift
from audiomentations import TimeStretch as AmTimeStretch
from audiomentations.core.transforms_interface import BaseWaveformTransform

from ssl_mir.augment import ops, vocoder
from ssl_mir.augment.filters import BandPass, Equalizer, HighPass, LowPass
from ssl_mir.augment.transform import Params, Scale, Transform, uniform
from ssl_mir.augment.waveform import TorchTransform


@dataclass(frozen=True)
class Polarity(Scale):
    name: ClassVar[str] = "polarity"

    def factor(self, params: Params, n: int) -> torch.Tensor:
        return torch.full((n,), -1.0)

    def cpu(self) -> BaseWaveformTransform:
        return PolarityInversion(p=self.p)


@dataclass(frozen=True)
class Noise(Transform):
    """White noise at an SNR uniform in dB."""

    min_snr_db: float = 5.0
    max_snr_db: float = 40.0
    name: ClassVar[str] = "noise"

    def draw(self, n: int) -> Params:
        return {"snr_db": uniform(n, self.min_snr_db, self.max_snr_db)}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        return ops.add_noise(x, params["snr_db"])

    def cpu(self) -> BaseWaveformTransform:
        return AddGaussianSNR(self.min_snr_db, self.max_snr_db, p=self.p)


@dataclass(frozen=True)
class GainDb(Scale):
    """A gain uniform in dB."""

    min_gain_db: float = -12.0
    max_gain_db: float = 12.0
    name: ClassVar[str] = "gain"
    changes: ClassVar[frozenset[str]] = frozenset({"loudness"})

    def draw(self, n: int) -> Params:
        return {"gain_db": uniform(n, self.min_gain_db, self.max_gain_db)}

    def factor(self, params: Params, n: int) -> torch.Tensor:
        return 10.0 ** (params["gain_db"] / 20.0)

    def cpu(self) -> BaseWaveformTransform:
        return Gain(self.min_gain_db, self.max_gain_db, p=self.p)


@dataclass(frozen=True)
class Delay(Transform):
    """One echo at `volume`, its delay uniform on a grid (CLMR: 200–500 ms in 50 ms steps)."""

    min_ms: int = 200
    max_ms: int = 500
    step_ms: int = 50
    volume: float = 0.5
    name: ClassVar[str] = "delay"

    def draw(self, n: int) -> Params:
        steps = (self.max_ms - self.min_ms) // self.step_ms + 1
        return {"delay_ms": (self.min_ms + self.step_ms * torch.randint(steps, (n,))).double()}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        shift = (params["delay_ms"] * sample_rate / 1000).long().clamp_max(x.shape[-1])
        return ops.delay(x, shift, self.volume)

    def cpu(self) -> BaseWaveformTransform:
        return TorchTransform(self)


@dataclass(frozen=True)
class Reverb(Transform):
    """Convolution with a generated room response: RT60 and wet/dry mix uniform."""

    min_rt60: float = 0.1
    max_rt60: float = 1.0
    min_wet: float = 0.1
    max_wet: float = 0.6
    name: ClassVar[str] = "reverb"

    def draw(self, n: int) -> Params:
        return {"rt60": uniform(n, self.min_rt60, self.max_rt60), "wet": uniform(n, self.min_wet, self.max_wet)}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        return ops.reverb(x, sample_rate, params["rt60"].float(), params["wet"].float(), self.max_rt60)

    def cpu(self) -> BaseWaveformTransform:
        return TorchTransform(self)


@dataclass(frozen=True)
class PitchShift(Transform):
    """A pitch shift uniform in semitones, duration unchanged."""

    min_semitones: float = -4.0
    max_semitones: float = 4.0
    name: ClassVar[str] = "pitch_shift"
    changes: ClassVar[frozenset[str]] = frozenset({"pitch"})

    def draw(self, n: int) -> Params:
        return {"semitones": uniform(n, self.min_semitones, self.max_semitones)}

    def row_bytes(self, x: torch.Tensor) -> int:
        return vocoder.spectra_bytes(x.shape[-1], vocoder.N_FFT, vocoder.PITCH_HOP)

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        return vocoder.pitch_shift(x, params["semitones"])

    def cpu(self) -> BaseWaveformTransform:
        return AmPitchShift(self.min_semitones, self.max_semitones, p=self.p)


@dataclass(frozen=True)
class TimeStretch(Transform):
    """Play faster or slower by a rate uniform in [min_rate, max_rate], pitch and length unchanged."""

    min_rate: float = 0.8
    max_rate: float = 1.25
    name: ClassVar[str] = "time_stretch"
    changes: ClassVar[frozenset[str]] = frozenset({"tempo"})

    def draw(self, n: int) -> Params:
        return {"rate": uniform(n, self.min_rate, self.max_rate)}

    def row_bytes(self, x: torch.Tensor) -> int:
        return vocoder.spectra_bytes(x.shape[-1], vocoder.N_FFT, vocoder.STRETCH_HOP)

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        return vocoder.time_stretch(x, params["rate"])

    def cpu(self) -> BaseWaveformTransform:
        return AmTimeStretch(self.min_rate, self.max_rate, leave_length_unchanged=True, p=self.p)


@dataclass(frozen=True)
class RandomCrop(Transform):
    """A crop of `samples` samples at a uniform start: (N, S) → (N, samples), the one transform that changes the
    length. Always applied (p = 1), so that every clip of a batch keeps one length."""

    p: float = 1.0
    samples: int = 16000
    name: ClassVar[str] = "crop"

    def __post_init__(self) -> None:
        if self.p != 1.0:
            raise ValueError(f"crop: p must be 1 (a batch needs one length), got {self.p}")

    def draw(self, n: int) -> Params:
        return {"fraction": torch.rand(n, dtype=torch.float64)}

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        if x.shape[-1] < self.samples:
            raise ValueError(f"crop: clips of {x.shape[-1]} samples are shorter than the crop's {self.samples}")
        start = (params["fraction"] * (x.shape[-1] - self.samples + 1)).floor().long()
        return ops.crop(x, start, self.samples)

    def cpu(self) -> BaseWaveformTransform:
        return TorchTransform(self)


@dataclass(frozen=True)
class OneOf(Transform):
    """With probability p, one of `transforms` chosen uniformly, which then applies with its own p (audiomentations'
    OneOf). Its parameters hold every member's, prefixed "k.", drawn for every row and used where member k is chosen,
    so that a row's draws do not depend on the other rows'."""

    transforms: tuple[Transform, ...] = field(default_factory=tuple)
    name: ClassVar[str] = "one_of"

    @property
    def alters(self) -> frozenset[str]:
        return frozenset().union(*(t.alters for t in self.transforms))

    def draw(self, n: int) -> Params:
        params = {"choice": torch.randint(len(self.transforms), (n,))}
        for k, member in enumerate(self.transforms):
            params[f"{k}.applies"] = torch.rand(n) < member.p
            params.update({f"{k}.{key}": value for key, value in member.draw(n).items()})
        return params

    def apply(self, x: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        return self.apply_to_rows(x.clone(), torch.arange(len(x), device=x.device), params, sample_rate)

    def apply_to_rows(self, x: torch.Tensor, index: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        """Each member applies to its own rows of x in place, with no gather of the rows this choice applies to."""
        for member, chosen, own in self.members(params):
            x = member.apply_to_rows(x, index[chosen.to(index.device)], {key: v[chosen] for key, v in own.items()},
                                     sample_rate)
        return x

    def apply_masked(self, x: torch.Tensor, mask: torch.Tensor, params: Params, sample_rate: int) -> torch.Tensor:
        for member, chosen, own in self.members(params):
            rows = mask & chosen
            if bool(rows.any()):
                x = member.apply_masked(x, rows, own, sample_rate)
        return x

    def members(self, params: Params) -> list[tuple[Transform, torch.Tensor, Params]]:
        """(a member, the rows (bool, on the host) that chose it and where it applies, its parameters for every
        row) for each member that some row chose."""
        out = []
        for k, member in enumerate(self.transforms):
            chosen = (params["choice"] == k) & params[f"{k}.applies"]  # (n,)
            if bool(chosen.any()):
                prefix = f"{k}."
                own = {key[len(prefix):]: value for key, value in params.items()
                       if key.startswith(prefix) and key != f"{k}.applies"}
                out.append((member, chosen, own))
        return out

    def cpu(self) -> BaseWaveformTransform:
        return AmOneOf([t.cpu() for t in self.transforms], p=self.p)


VOCABULARY: dict[str, type[Transform]] = {t.name: t for t in (Polarity, Noise, GainDb, LowPass, HighPass, BandPass,
                                                              Equalizer, Delay, Reverb, PitchShift, TimeStretch, RandomCrop,
                                                              OneOf)}


def parse(entries: list[dict[str, Any]], where: str = "augment.transforms") -> list[Transform]:
    """YAML entries → transforms, with errors that name the entry and what is wrong with it."""
    transforms = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"{at}: each transform is a mapping with a 'name', got {entry!r}")
        kwargs = dict(entry)
        name = kwargs.pop("name")
        cls = VOCABULARY.get(name)
        if cls is None:
            raise ValueError(f"{at}: unknown transform '{name}'; known: {sorted(VOCABULARY)}")
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(kwargs) - set(fields))
        if unknown:
            raise ValueError(f"{at} ({name}): unknown parameter(s) {unknown}; {name} takes {fields}")
        if cls is OneOf:
            kwargs["transforms"] = tuple(parse(kwargs.get("transforms", []), f"{at}.transforms"))
            if not kwargs["transforms"]:
                raise ValueError(f"{at} (one_of): list at least one transform under 'transforms'")
            if any(isinstance(t, RandomCrop) for t in kwargs["transforms"]):
                raise ValueError(f"{at} (one_of): crop cannot be one of several choices (it changes the length)")
        try:
            transforms.append(cls(**kwargs))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{at}: {err}") from None
    return transforms
