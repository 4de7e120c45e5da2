"""The pre-training data module: unlabeled crops, from files, the decoded cache or streamed shards. The labeled one
(supervision and probes) is `data.labeled.LabeledDataModule`, importable from here too."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from torch.utils.data import DataLoader

from ssl_mir.augment.chain import Augmentation
from ssl_mir.augment.policy import warn_pretraining
from ssl_mir.data.audio import MAX_AMPLITUDE
from ssl_mir.data.datasets import CropDataset, WaveTransform
from ssl_mir.data.decoded import ResidentCache
from ssl_mir.data.labeled import LabeledDataModule
from ssl_mir.data.manifest import Manifest, OnBadFile
from ssl_mir.data.pipeline import Pipeline, loader
from ssl_mir.data.sampling import run_seed

if TYPE_CHECKING:  # litdata is an optional extra (ssl_mir[scale]), imported where shards are streamed
    from ssl_mir.data.streaming import StreamingCrops

__all__ = ["LabeledDataModule", "PretrainDataModule"]


class PretrainDataModule(Pipeline):
    """Random multi-view crops of unlabeled audio.

    Args:
        manifest: a folder of audio, or a CSV/JSONL manifest (labels are ignored).
        sample_rate: rate the audio is resampled to; must match the encoder's.
        crop_samples: samples per view (CLMR: 59049 at 22050 Hz).
        n_views: crops per clip.
        augment: waveform augmentations of each view, on the device or in the workers (`augment.chain`); a
            transform that alters pitch, tempo or loudness logs which downstream tasks it will hurt.
        split: use only this split's rows when the manifest has splits (None: every row).
        pool_fraction: pre-train on this seeded share of the rows (`Manifest.subset`: 0.1 ⊂ 0.3 ⊂ 1), for the
            unlabeled-scale axis of `compare`.
        batch_size: clips per batch.
        num_workers: dataloader processes (None: one per available CPU, at most 8).
        on_bad_file: "raise" lists every bad file at setup; "skip" leaves them out, logged and counted.
        max_channels: files with more channels are bad.
        max_amplitude: files whose absolute peak exceeds this are bad (+24 dBFS by default).
        decoded_cache: a local folder for the corpus decoded and resampled once as int16 memory maps
            (`data.decoded`); None reads and resamples the files every time.
        streaming: instead of `manifest`, a shard folder or URL written by `ssl-mir shard` (s3://, gs://, azure://
            through litdata): chunks are downloaded into a bounded local cache, shuffled across chunks, and shared
            among ranks and workers with no clip twice (`data.streaming`).
        streaming_cache: where streamed chunks are cached (None: litdata's default folder).
        max_cache_size: the bound of that cache, e.g. "50GB".
        device_crops: hold the decoded cache in the accelerator's memory and cut the crops there: the workers only
            locate each crop, and no audio crosses to the device per step (for corpora that fit: at most half its
            free memory). Needs `decoded_cache`, and augmentation on the device or none.
    """

    def __init__(
        self,
        manifest: str | None = None,
        sample_rate: int = 16000,
        crop_samples: int = 59049,
        n_views: int = 2,
        augment: Augmentation | None = None,
        split: str | None = "train",
        pool_fraction: float = 1.0,
        batch_size: int = 48,
        num_workers: int | None = None,
        on_bad_file: OnBadFile = "raise",
        max_channels: int = 2,
        max_amplitude: float = MAX_AMPLITUDE,
        decoded_cache: str | None = None,
        streaming: str | None = None,
        streaming_cache: str | None = None,
        max_cache_size: str = "50GB",
        device_crops: bool = False,
    ) -> None:
        super().__init__()
        if streaming is not None and pool_fraction < 1.0:
            raise ValueError("data.pool_fraction works on files; leave it out with data.streaming")
        self.sample_rate = sample_rate
        self.crop_samples = crop_samples
        self.n_views = n_views
        self.split = split
        self.pool_fraction = pool_fraction
        self.batch_size = batch_size
        self.on_bad_file = on_bad_file
        self.max_channels = max_channels
        self.max_amplitude = max_amplitude
        self._set_pipeline(augment, decoded_cache, num_workers, manifest, streaming, streaming_cache, max_cache_size,
                           device_crops)
        self._resident: ResidentCache | None = None
        warn_pretraining(self.transforms)

    @cached_property
    def manifest(self) -> Manifest:
        """The checked rows (computed once, at first use)."""
        manifest = Manifest.load(self.manifest_path)
        if self.split is not None and self.split in manifest.splits:
            manifest = manifest.split(self.split)
        if self.pool_fraction < 1.0:
            manifest = manifest.subset(self.pool_fraction)
        return manifest.check(self.on_bad_file, self.crop_samples / self.sample_rate, self.max_channels,
                              max_amplitude=self.max_amplitude)

    @property
    def n_skipped(self) -> int:
        return 0 if self.streaming else len(self.manifest.skipped)  # shards hold only the files that passed

    def audio_paths(self) -> list[str]:
        return [r.path for r in self.manifest.rows]

    def summary(self) -> dict[str, object]:
        """What the encoder is pre-trained on: source, clips and hours (what `ssl-mir shard` recorded, for shards)."""
        if self.streaming:
            from ssl_mir.data.shards import shard_summary

            return shard_summary(self.streaming, self.split)
        return {"source": self.manifest.source, "clips": len(self.manifest), "hours": round(self.manifest.hours, 4)}

    def stream(self, n_views: int, transform: WaveTransform | None = None) -> StreamingCrops:
        """The shards' clips as a stream of `n_views` crops each."""
        from ssl_mir.data.streaming import StreamingCrops, split_location

        assert self.streaming is not None
        return StreamingCrops(split_location(self.streaming, self.split), self.sample_rate, self.crop_samples, n_views,
                              transform, run_seed(), self.streaming_cache, self.max_cache_size)

    def setup(self, stage: str) -> None:
        if self.streaming:
            self.train_set = self.stream(self.n_views, self.worker_augment)
        else:
            reader = self.decoded.span if self.device_crops else self.reader  # spans: cut in `cut_on_device`
            self.train_set = CropDataset(self.manifest.rows, self.sample_rate, self.crop_samples, self.n_views,
                                         self.worker_augment, reader=reader)
        if len(self.train_set) < self.batch_size:
            raise ValueError(f"{self.manifest_path}: {len(self.train_set)} clips is fewer than batch_size {self.batch_size}")

    def cut_on_device(self, batch: dict) -> dict:
        if self.device_crops and "views" in batch and not batch["views"].is_floating_point():
            spans = batch["views"]  # (B, V, 3): where each crop lies in the decoded cache
            if self._resident is None or self._resident.samples.device != spans.device:
                self._resident = self.decoded.resident(spans.device)
            batch["views"] = self._resident.crops(spans, self.crop_samples)  # (B, V, S)
        return batch

    def train_dataloader(self) -> DataLoader:
        # Full batches only: the contrastive loss assumes the same batch size on every rank.
        if self.streaming:
            return self.train_stream(self.train_set)
        return loader(self.train_set, self.batch_size, self.num_workers, self.train_sampler(whole_batches=True))

    def plain_crops(self) -> DataLoader:
        """One un-augmented random crop per clip, shuffled, batches of (B, 1, S) under "views": what `ssl-mir stats`
        and `ssl-mir targets` measure."""
        if self.streaming:
            from ssl_mir.data.streaming import streaming_loader

            return streaming_loader(self.stream(1), self.batch_size, self.num_workers)
        crops = CropDataset(self.manifest.rows, self.sample_rate, self.crop_samples, n_views=1, reader=self.reader)
        return loader(crops, self.batch_size, self.num_workers, self.epoch_sampler(crops))
