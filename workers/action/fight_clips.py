"""Labelled fight clips: a folder per class, fight or not. Folder names are read loosely,
because public data sets spell them differently (fight/noFight, Fight/NonFight,
fighting/no-fight, violence/non-violence)."""

from __future__ import annotations

import re
from pathlib import Path

from workers.action.dataset import Clip, scan_dataset
from workers.action.errors import DatasetError

FIGHT, NO_FIGHT = "fight", "no-fight"
LABELS = [FIGHT, NO_FIGHT]
"""Class order of every report: index 0 is the positive class."""

_POSITIVE = {"fight", "fights", "fighting", "violence", "violent"}
_NEGATIVE_PREFIX = re.compile(r"^(non|not|no)")


def fight_label(folder: str) -> str:
    """``fight`` or ``no-fight`` for a class folder's name; DatasetError for anything else."""
    word = re.sub(r"[^a-z]", "", folder.lower())
    if word in _POSITIVE:
        return FIGHT
    stripped = _NEGATIVE_PREFIX.sub("", word)
    if stripped != word and stripped in _POSITIVE:
        return NO_FIGHT
    raise DatasetError(folder, "is not a fight class folder: name the folders fight/ and noFight/ (or Fight/NonFight, "
                               "fighting/no-fight, violence/non-violence)")


def scan_fight_clips(root: Path, both_classes: bool = True) -> tuple[list[tuple[Clip, str]], list[tuple[Path, str]]]:
    """(clip, fight label) of every readable video under ``root``, and the unreadable ones;
    training needs ``both_classes``, an evaluation may run on one."""
    scan = scan_dataset(root)
    labelled = [(clip, fight_label(clip.label)) for clip in scan.clips]
    present = {label for _, label in labelled}
    if both_classes and present != set(LABELS):
        raise DatasetError(root, f"needs clips of both classes; found only {', '.join(sorted(present))}")
    return labelled, scan.unreadable
