"""Musical key names: parsing any common spelling, and one canonical spelling so that enharmonic labels
('Db major', 'C# major') are one class."""

from __future__ import annotations

NATURALS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]  # canonical spellings


def parse_key(label: str) -> tuple[int, str] | None:
    """'C# minor', 'Db major', 'a minor' → (pitch class, mode); None if the label is not a key."""
    parts = label.strip().split()
    if len(parts) != 2 or parts[1].lower() not in ("major", "minor") or not parts[0]:
        return None
    tonic, accidentals = parts[0][0].upper(), parts[0][1:]
    if tonic not in NATURALS or any(a not in "#b" for a in accidentals):
        return None
    return (NATURALS[tonic] + accidentals.count("#") - accidentals.count("b")) % 12, parts[1].lower()


def canonical_key(label: str) -> str | None:
    """The canonical name of a key label ('Db major' → 'C# major'), or None if it is not a key."""
    parsed = parse_key(label)
    return None if parsed is None else f"{PITCH_CLASSES[parsed[0]]} {parsed[1]}"
