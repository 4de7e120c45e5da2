"""Evaluation of frozen encoders: embeddings, probes, metrics, supervised and random baselines."""
