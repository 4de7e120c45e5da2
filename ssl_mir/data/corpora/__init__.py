"""Adapters from corpora as users keep them on disk to manifests: GTZAN, MagnaTagATune, NSynth, GiantSteps key, and
any CSV. None downloads anything; each reads the corpus's own layout and the split files the user supplies."""
