"""Augmentations: audiomentations chains on CPU workers, and the views they make."""
