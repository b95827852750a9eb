"""What ``vidsentry evaluate identity`` measures on: who is enrolled from which photos, and
which photos are probed, from a folder per person or a pairs file.

* A folder per person (``DATA/<name>/<photo>``): people sorted by name; every
  ``stranger_every``-th of them (by default every other one) is a stranger, never enrolled;
  the others are enrolled from their first ``enrol`` photos (sorted by name) and probed
  with the rest. Every photo of a stranger is probed.
* A pairs file: one comparison per line, ``PHOTO_A PHOTO_B same|different`` (or ``1|0``),
  paths relative to the file; or LFW's ``pairs.txt`` (``name n1 n2`` / ``name1 n1 name2 n2``,
  photos at ``<folder>/<name>/<name>_<n:04>.jpg``). Each pair is its own test: a gallery of
  one person enrolled from photo A, photo B probed against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from workers.face.photos import PHOTO_SUFFIXES


class EvaluationDataError(ValueError):
    """Data that ``evaluate identity`` cannot use; the message says what layout it expects."""


@dataclass(frozen=True)
class Probe:
    photo: Path
    person: str
    """Who the photo shows (the dataset's label)."""
    enrolled: bool
    """Whether that person is in the gallery the probe is matched against."""


@dataclass
class Trial:
    """One gallery and the photos probed against it."""

    gallery: dict[str, list[Path]]
    probes: list[Probe]
    strangers: list[str] = field(default_factory=list)


def natural_key(text: str) -> list:
    """``s2`` before ``s10``, ``2.pgm`` before ``10.pgm``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def person_photos(root: Path) -> dict[str, list[Path]]:
    """``root/<name>/<photo>`` -> {name: photos}, both in natural name order; hidden files and
    files that are not photos by their suffix (README...) are left out."""
    people = {}
    for folder in sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                         key=lambda p: natural_key(p.name)):
        photos = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                         and p.suffix.lower() in PHOTO_SUFFIXES), key=lambda p: natural_key(p.name))
        if photos:
            people[folder.name] = photos
    return people


def folder_trial(root: Path, enrol: int = 1, stranger_every: int = 2) -> Trial:
    people = person_photos(root)
    if not people:
        raise EvaluationDataError(f"{root} holds no person folders with photos (expected {root}/<name>/<photo>.jpg, "
                                  f"or give a pairs file)")
    gallery, probes, strangers = {}, [], []
    for index, (name, photos) in enumerate(people.items()):
        if stranger_every and index % stranger_every == stranger_every - 1:
            strangers.append(name)
            probes.extend(Probe(photo, name, False) for photo in photos)
            continue
        gallery[name] = photos[:enrol]
        probes.extend(Probe(photo, name, True) for photo in photos[enrol:])
    if not gallery:
        raise EvaluationDataError(f"{root}: nobody left to enrol (every person is a stranger); lower --stranger-every")
    return Trial(gallery, probes, strangers)


def pairs_trials(pairs_file: Path, images: Path | None = None) -> list[Trial]:
    """One trial per line of a pairs file (see the module docstring)."""
    base = images or pairs_file.parent
    trials = []
    for number, line in enumerate(pairs_file.read_text().splitlines(), 1):
        fields = line.split()
        if not fields or line.lstrip().startswith("#"):
            continue
        try:
            trial = _pair(fields, base)
        except EvaluationDataError as exc:
            raise EvaluationDataError(f"{pairs_file}:{number}: {exc}") from None
        if trial is not None:
            trials.append(trial)
    if not trials:
        raise EvaluationDataError(f"{pairs_file} holds no pairs (expected lines 'PHOTO_A PHOTO_B same|different')")
    return trials


_SAME = {"same": True, "1": True, "true": True, "different": False, "0": False, "false": False}


def _pair(fields: list[str], base: Path) -> Trial | None:
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return None  # LFW's header line: folds and pairs per fold
    if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
        name = fields[0]
        a, b, same, other = _lfw(base, name, fields[1]), _lfw(base, name, fields[2]), True, name
    elif len(fields) == 4 and fields[1].isdigit() and fields[3].isdigit():
        name, other = fields[0], fields[2]
        a, b, same = _lfw(base, name, fields[1]), _lfw(base, other, fields[3]), False
    elif len(fields) == 3 and fields[2].lower() in _SAME:
        a, b, same = _resolve(base, fields[0]), _resolve(base, fields[1]), _SAME[fields[2].lower()]
        name, other = a.stem, (a.stem if same else b.stem)
    else:
        raise EvaluationDataError("expected 'PHOTO_A PHOTO_B same|different' or an LFW pairs line")
    return Trial({name: [a]}, [Probe(b, name if same else other, same)])


def _lfw(base: Path, name: str, number: str) -> Path:
    return _resolve(base, f"{name}/{name}_{int(number):04d}.jpg")


def _resolve(base: Path, path: str) -> Path:
    resolved = Path(path) if Path(path).is_absolute() else base / path
    if not resolved.is_file():
        raise EvaluationDataError(f"no such photo: {resolved}")
    return resolved
