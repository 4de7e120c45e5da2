"""Which augmentations a task's labels survive.

A label "changes with" a property of the music when altering that property alters the right answer: a key
changes with pitch, a tempo with tempo. An augmentation that alters such a property teaches a supervised model or a
probe the wrong answer, so that pairing is refused at config time; a pre-training chain that alters it makes the
representation invariant to it, which hurts downstream tasks that need it, so pre-training warns. (The
deep-learning-for-MIR tutorial: "time stretching and pitch scaling suit genre classification, not key or tempo
detection".)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from ssl_mir.augment.transform import Transform

log = logging.getLogger(__name__)

# Property → the words in a label column's name that make the label change with it by default.
NAME_HINTS: dict[str, tuple[str, ...]] = {
    "pitch": ("key", "tonic", "tonality", "chord", "chords", "pitch", "melody", "note", "notes", "f0"),
    "tempo": ("tempo", "bpm", "beat", "beats", "downbeat", "downbeats", "meter"),
    "loudness": ("loudness", "dynamics", "velocity"),
}
PROPERTIES = tuple(NAME_HINTS)


def default_changes_with(task_name: str) -> frozenset[str]:
    """The properties a label column changes with, from the words of its name ("giantsteps_key" → pitch)."""
    words = set(re.split(r"[^a-z0-9]+", task_name.lower()))
    return frozenset(p for p, hints in NAME_HINTS.items() if words & set(hints))


def check_properties(properties: Iterable[str], where: str) -> frozenset[str]:
    unknown = sorted(set(properties) - set(PROPERTIES))
    if unknown:
        raise ValueError(f"{where}: unknown propert(ies) {unknown}; known: {list(PROPERTIES)}")
    return frozenset(properties)


def conflicts(transforms: Iterable[Transform], changes_with: frozenset[str]) -> list[tuple[str, str]]:
    """(transform name, property) for every transform that alters a property the label changes with."""
    return [(t.name, p) for t in transforms for p in sorted(t.alters & changes_with)]


def check_labels(tasks: Mapping[str, frozenset[str]], transforms: list[Transform]) -> None:
    """Refuse augmentations that alter what a trained task's label depends on.

    Args:
        tasks: task name → properties its label changes with.
        transforms: the augmentations applied to the training crops.

    Raises:
        ValueError: naming every task and the augmentation that breaks its labels.
    """
    problems = [f"task '{name}' changes with {prop}, and {t} alters {prop}"
                for name, props in tasks.items() for t, prop in conflicts(transforms, props)]
    if problems:
        raise ValueError("data.augment would make the labels of the training crops wrong: " + "; ".join(problems)
                         + ". Remove those transforms, or declare the task's properties with data.label_changes_with")


def warn_pretraining(transforms: list[Transform]) -> None:
    """Log, for each transform that alters a property, the downstream tasks the invariance will hurt."""
    for t in transforms:
        for prop in sorted(t.alters):
            log.warning("pre-training augmentation %s alters %s: the encoder learns to ignore it, which hurts downstream "
                        "tasks whose labels change with %s (%s)", t.name, prop, prop, ", ".join(NAME_HINTS[prop]))
