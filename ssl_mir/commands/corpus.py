"""`ssl-mir synth`, `shard` and `manifest`: corpora on disk. Nothing here imports torch before a command runs, so
that their `--help` is quick."""

from __future__ import annotations

from jsonargparse import ArgumentParser


def synth(args: list[str]) -> None:
    """Write a corpus. --kind procedural (the default): the built-in corpus of procedural pieces, audio/*.wav and
    manifest.csv. --kind pieces: excerpts of real compositions from the music21 corpus, manifest.csv (the labeled
    set, split by work) and unlabeled.csv (a larger pool of other works); needs pip install 'ssl_mir[corpus]'.
    --kind notes: single notes of the SoundFont's programs × pitches × velocities, manifest.csv split by program
    (labels pitch and family)."""
    import argparse

    from ssl_mir.data.notes_corpus import synthesize_notes
    from ssl_mir.data.pieces_corpus import synthesize_pieces
    from ssl_mir.data.synthetic import synthesize

    kinds = {"procedural": synthesize, "pieces": synthesize_pieces, "notes": synthesize_notes}
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--kind", choices=list(kinds), default="procedural")
    kind, _ = pre.parse_known_args(args)
    parser = ArgumentParser(prog="ssl-mir synth", description=synth.__doc__, default_env=False)
    parser.add_argument("--kind", choices=list(kinds), default="procedural", help="which corpus")
    parser.add_function_arguments(kinds[kind.kind])
    cfg = parser.parse_args(args).as_dict()
    print(kinds[cfg.pop("kind")](**cfg))


def shard(args: list[str]) -> None:
    """Decode and resample a corpus once into litdata chunks (a local folder or an s3:// / gs:// URL) for
    --data.streaming: one record per clip with its audio, split and labels."""
    from ssl_mir.data.shards import write_shards

    parser = ArgumentParser(prog="ssl-mir shard", description=shard.__doc__, default_env=False)
    parser.add_function_arguments(write_shards)
    print(write_shards(**parser.parse_args(args).as_dict()))


def manifest(args: list[str]) -> None:
    """Convert a corpus on disk (gtzan, magnatagatune, nsynth, giantsteps, or any CSV/TSV table) to a manifest CSV;
    prints the data.tasks to use with it."""
    from ssl_mir.data.corpora.giantsteps import giantsteps
    from ssl_mir.data.corpora.gtzan import gtzan
    from ssl_mir.data.corpora.magnatagatune import magnatagatune
    from ssl_mir.data.corpora.nsynth import nsynth
    from ssl_mir.data.corpora.table import table

    adapters = {f.__name__: f for f in (gtzan, magnatagatune, nsynth, giantsteps, table)}
    parser = ArgumentParser(prog="ssl-mir manifest", description=manifest.__doc__, default_env=False)
    commands = parser.add_subcommands(dest="corpus")
    for name, adapter in adapters.items():
        sub = ArgumentParser(description=adapter.__doc__, default_env=False)
        sub.add_function_arguments(adapter)
        sub.add_argument("--out", type=str, required=True, help="the manifest CSV to write")
        commands.add_subcommand(name, sub, help=(adapter.__doc__ or "").splitlines()[0])
    cfg = parser.parse_args(args)
    options = cfg[cfg.corpus].as_dict()
    out = options.pop("out")
    corpus = adapters[cfg.corpus](**options)
    print(f"{corpus.write(out)}\n{corpus.summary()}")
