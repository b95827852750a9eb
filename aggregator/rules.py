"""Alert rules from YAML, validated at start; errors name the rule, the key and the line.

A rule is a set of conditions that must all hold, for one person (``scope: person``)
or for a whole camera (``scope: camera``: crowd measures, or ``action`` meaning someone in
view is doing it — one fight between three people is one incident, not three). ``for_s`` asks that they hold
without a break for that long. One incident is raised per rule and person (or camera);
it is updated when it escalates (held for ``escalate_after_s``) and when it ends, and a
new incident of the same rule for the same subject waits ``cooldown_s`` after the end.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas import ACTION_LABELS, EMOTION_LABELS

Severity = Literal["info", "warning", "high", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}
DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


class RulesError(ValueError):
    """An invalid rules file; the message names the file, line, rule and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeWindow(_Strict):
    start: dt.time = Field(description="Local time the window opens, HH:MM.")
    end: dt.time = Field(description="Local time it closes; earlier than start means it spans midnight.")

    def contains(self, moment: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Conditions(_Strict):
    identity: Literal["unknown", "known", "watchlist"] | None = Field(None, description="Who: an unknown face, a known person, or a name on the watch list.")
    action: str | None = Field(None, description="What they are doing, one of the action labels.")
    emotion: str | None = Field(None, description="A facial emotion label whose smoothed probability must reach min_prob.")
    min_prob: float = Field(0.5, gt=0, le=1, description="Probability the emotion must reach.")
    dwell_s: float | None = Field(None, gt=0, description="In view (or in `zone`) for at least this long.")
    zone: str | None = Field(None, description="Name of a camera zone the person must be in.")
    crowd_min: int | None = Field(None, ge=1, description="camera scope: at least this many people in view.")
    negative_share: float | None = Field(None, gt=0, le=1, description="camera scope: share of people whose emotion is angry, disgust or fear.")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str | None) -> str | None:
        if value is not None and value not in ACTION_LABELS:
            raise ValueError(f"unknown action {value!r}; one of {', '.join(ACTION_LABELS)}")
        return value

    @field_validator("emotion")
    @classmethod
    def _known_emotion(cls, value: str | None) -> str | None:
        if value is not None and value not in EMOTION_LABELS:
            raise ValueError(f"unknown emotion {value!r}; one of {', '.join(EMOTION_LABELS)}")
        return value


class Rule(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Rule id, in alerts and metrics.")
    description: str = ""
    severity: Severity = "warning"
    scope: Literal["person", "camera"] = "person"
    when: Conditions
    for_s: float = Field(0.0, ge=0, description="Conditions must hold without a break for this long.")
    cooldown_s: float = Field(300.0, ge=0, description="After an incident ends, how long before the same rule may fire again for the same subject.")
    escalate_after_s: float | None = Field(None, gt=0, description="Raise the severity one step if the incident lasts this long.")
    active: list[TimeWindow] = Field(default_factory=list, description="Only between these local times (empty: always).")
    cameras: list[str] = Field(default_factory=list, description="Only on these cameras (empty: all).")

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        crowd = self.when.crowd_min is not None or self.when.negative_share is not None
        if self.scope == "camera" and not crowd and self.when.action is None:
            raise ValueError("a camera-scope rule needs crowd_min, negative_share or action")
        person_only = {"identity", "emotion", "dwell_s", "zone"} & self.when.model_dump(exclude_none=True).keys()
        if self.scope == "camera" and person_only:
            raise ValueError(f"{', '.join(sorted(person_only))} need scope: person")
        if self.scope == "person" and crowd:
            raise ValueError("crowd_min / negative_share need scope: camera")
        if not self.when.model_dump(exclude_defaults=True):
            raise ValueError("a rule needs at least one condition under `when`")
        return self


class RuleSet(_Strict):
    timezone: str = Field("UTC", description="Time zone of the `active` windows.")
    watchlist: list[str] = Field(default_factory=list, description="Names (as in the gallery) that raise `identity: watchlist`.")
    rules: list[Rule] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        names = [r.name for r in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"rule names must be unique: {', '.join(duplicates)}")
        return self


def load_rules(path: Path | None = None) -> RuleSet:
    """Load and validate a rules file (the shipped defaults when None)."""
    path = Path(path) if path else DEFAULT_RULES
    try:
        text = path.read_text()
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc.strerror}") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RulesError(f"{path}{f':{mark.line + 1}' if mark else ''}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return RuleSet.model_validate(data or {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
            line = _line_of(root, loc)
            where = ".".join(str(p) for p in loc) or "(top level)"
            rule = _rule_name(data, loc)
            message = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"{path}:{line}: {where}{f' (rule {rule})' if rule else ''}: {message}")
        raise RulesError("invalid rules:\n" + "\n".join(lines)) from None


def _line_of(node: yaml.Node | None, loc: list) -> int:
    """1-based line of the deepest YAML node along the error's path."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == key), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _rule_name(data: object, loc: list) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            return rules[loc[1]].get("name")
    return None
