"""Augmentation: one vocabulary of waveform transforms for two backends (audiomentations per clip in the workers,
batched torch operations on the training device), spectrogram augmentations, and the task-aware policy."""
