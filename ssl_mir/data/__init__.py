"""Audio on disk: manifests, decoding, datasets, tasks and the built-in corpus."""
