"""``vidsentry evaluate action --clips DIR``: the action stage on labelled fight clips.

Every clip is played through the stage as ``vidsentry run`` would (``clip_replay``); a
clip counts as flagged when any person in it is labelled ``fighting`` at any frame. Scored
against the folder's class: accuracy, precision, recall, macro-F1, the confusion matrix,
the share of no-fight clips flagged, and how far into a fight clip the first label came.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workers.action.clip_replay import replay_clip
from workers.action.fight_clips import FIGHT, LABELS, NO_FIGHT, scan_fight_clips
from workers.action.report import ClassificationReport, classification_report, format_report
from workers.action.worker import ActionStage

FIGHTING = "fighting"
REGION_SUFFIX = "/fight"
"""Track id ending of a fight reported on its region (nobody found in it)."""


@dataclass
class ClipVerdict:
    path: Path
    truth: str
    flagged: bool
    first_fight_s: float | None
    """Seconds from the clip's first frame to the first 'fighting' label (None: never)."""
    most_people: int
    labels: Counter = field(default_factory=Counter)
    """Person labels over the clip's frames."""
    region_only: bool = False
    """Flagged only by fight-region entries: nobody found in the fight was labelled."""


@dataclass
class ClipEvaluation:
    verdicts: list[ClipVerdict]
    report: ClassificationReport
    unreadable: list[tuple[Path, str]]

    @property
    def flagged_no_fight(self) -> float:
        negatives = [v for v in self.verdicts if v.truth == NO_FIGHT]
        return sum(v.flagged for v in negatives) / len(negatives) if negatives else float("nan")

    @property
    def median_first_fight_s(self) -> float:
        times = [v.first_fight_s for v in self.verdicts if v.truth == FIGHT and v.first_fight_s is not None]
        return float(np.median(times)) if times else float("nan")


def verdict(path: Path, truth: str, outputs) -> ClipVerdict:
    labels = Counter(p.action for out in outputs for p in out.persons)
    fights = [out.ts_capture for out in outputs if any(p.action == FIGHTING for p in out.persons)]
    people = any(p.action == FIGHTING and not p.track_id.endswith(REGION_SUFFIX) for out in outputs for p in out.persons)
    start = outputs[0].ts_capture if outputs else 0.0
    return ClipVerdict(path, truth, bool(fights), round(fights[0] - start, 3) if fights else None,
                       max((len(out.persons) for out in outputs), default=0), labels, bool(fights) and not people)


def evaluate_clips(root: Path, stage: ActionStage, progress: bool = True,
                   on_clip: Callable[[ClipVerdict], None] | None = None) -> ClipEvaluation:
    from tqdm import tqdm

    clips, unreadable = scan_fight_clips(root, both_classes=False)
    verdicts = []
    for clip, truth in tqdm(clips, desc="clips", unit="clip", disable=None if progress else True):
        result = verdict(clip.path, truth, replay_clip(stage, clip.path))
        verdicts.append(result)
        if on_clip:
            on_clip(result)
    y_true = np.array([LABELS.index(v.truth) for v in verdicts], int)
    y_pred = np.array([LABELS.index(FIGHT if v.flagged else NO_FIGHT) for v in verdicts], int)
    return ClipEvaluation(verdicts, classification_report(y_true, y_pred, LABELS), unreadable)


def format_clip_evaluation(evaluation: ClipEvaluation) -> str:
    labels = Counter()
    for v in evaluation.verdicts:
        labels.update(v.labels)
    silent = sum(1 for v in evaluation.verdicts if not v.labels)
    text = format_report(evaluation.report).replace("windows:", "clips:", 1)
    return "\n".join([
        text,
        f"no-fight clips flagged: {evaluation.flagged_no_fight:.1%}",
        f"first 'fighting' label in a fight clip after (median): {evaluation.median_first_fight_s:.2f} s",
        f"flagged only on a fight region (nobody found in it): "
        f"{sum(v.region_only for v in evaluation.verdicts if v.truth == FIGHT)} fight, "
        f"{sum(v.region_only for v in evaluation.verdicts if v.truth == NO_FIGHT)} no-fight clips",
        f"person labels over all frames: {dict(labels.most_common())}; clips with no person label: {silent}",
    ] + [f"unreadable: {path} ({reason})" for path, reason in evaluation.unreadable])
