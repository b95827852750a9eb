"""Alert rules from YAML, validated at start; errors name the rule, the key and the line.

A rule is a set of conditions that must all hold, for one person (``scope: person``)
or for a whole camera (``scope: camera``: crowd measures, or ``action`` meaning someone in
view is doing it — one fight between three people is one incident, not three). ``for_s`` asks that they hold
without a break for that long. One incident is raised per rule and person (or camera);
it is updated when it escalates (held for ``escalate_after_s``) and when it ends, and a
new incident of the same rule for the same subject waits ``cooldown_s`` after the end.

The conditions themselves (the keys under ``when``) are classes in ``aggregator.conditions``.
Given the cameras the deployment knows (``KnownCameras``), the loader also refuses cameras
and zones that do not exist; watch-list names must be names the gallery can hold.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from aggregator.conditions import SCOPES, Condition, KnownCameras, parse_conditions
from vidsentry.config.cameras import CAMERA_ID_PATTERN
from vidsentry.config.yaml_file import read_yaml

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


def _camera_id(value: str, info: ValidationInfo) -> str:
    if not re.fullmatch(CAMERA_ID_PATTERN, value):
        raise ValueError(f"{value!r} cannot be a camera id (letters, digits and . _ -, at most 64)")
    known: KnownCameras | None = (info.context or {}).get("cameras")
    if known is not None and known.ids is not None and value not in known.ids:
        raise ValueError(f"unknown camera {value!r}; cameras in {known.origin}: {', '.join(sorted(known.ids))}")
    return value


def _gallery_name(value: str) -> str:
    from workers.face.gallery import valid_name

    cleaned = valid_name(value)  # InvalidNameError is a ValueError
    if cleaned != value:
        raise ValueError(f"the gallery holds this name as {cleaned!r} (one space between words); write it so")
    return value


class Rule(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Rule id, in alerts and metrics.")
    description: str = ""
    severity: Severity = "warning"
    scope: Literal["person", "camera"] = "person"
    when: tuple[Condition, ...] = Field(
        description="Conditions that must all hold: the keys of the conditions in aggregator/conditions.py.")
    for_s: float = Field(0.0, ge=0, description="Conditions must hold without a break for this long.")
    cooldown_s: float = Field(300.0, ge=0, description="After an incident ends, how long before the same rule may fire again for the same subject.")
    escalate_after_s: float | None = Field(None, gt=0, description="Raise the severity one step if the incident lasts this long.")
    active: list[TimeWindow] = Field(default_factory=list, description="Only between these local times (empty: always).")
    cameras: list[Annotated[str, AfterValidator(_camera_id)]] = Field(
        default_factory=list, description="Only on these cameras (empty: all).")

    @field_validator("when", mode="wrap")
    @classmethod
    def _conditions(cls, value: object, handler: object) -> tuple[Condition, ...]:
        if isinstance(value, tuple) and value and all(isinstance(c, Condition) for c in value):
            return value
        return parse_conditions(value)

    @field_serializer("when")
    def _as_written(self, when: tuple[Condition, ...]) -> dict:
        """Back to one ``when`` mapping, as in the file (a dump validates again)."""
        return {k: v for condition in when for k, v in condition.model_dump(exclude_none=True).items()}

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Rule:
        (other,) = set(SCOPES) - {self.scope}
        misplaced = [c.key for c in self.when if self.scope not in c.scopes]
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)} need scope: {other}")
        known: KnownCameras | None = (info.context or {}).get("cameras")
        if known is None:
            return self
        errors = []
        for condition in self.when:
            try:
                condition.check(self.cameras, known)
            except ValueError as exc:
                errors.append({"type": "value_error", "loc": ("when", condition.key),
                               "input": getattr(condition, condition.key), "ctx": {"error": exc}})
        if errors:
            raise ValidationError.from_exception_data("Rule", errors)
        return self


class RuleSet(_Strict):
    timezone: str = Field("UTC", description="Time zone of the `active` windows.")
    watchlist: list[Annotated[str, AfterValidator(_gallery_name)]] = Field(
        default_factory=list, description="Names (as in the gallery) that raise `identity: watchlist`.")
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
        for what, names in (("rule names", [r.name for r in self.rules]), ("watchlist names", self.watchlist)):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise PydanticCustomError("duplicate", "{what} must be unique: {names}",
                                          {"what": what, "names": ", ".join(duplicates)})
        return self


def load_rules(path: Path | None = None, cameras: KnownCameras | None = None) -> RuleSet:
    """Load and validate a rules file (the shipped defaults when None); with ``cameras``, the
    rules' cameras and zones are checked against them too."""
    source = read_yaml(Path(path) if path else DEFAULT_RULES, RulesError, "rules file")
    try:
        return RuleSet.model_validate(source.data or {}, context={"cameras": cameras})
    except ValidationError as exc:
        raise RulesError("invalid rules:\n" + "\n".join(source.problems(exc, _rule_label))) from None


def _rule_label(data: object, loc: list) -> str | None:
    """``rule <name>`` for an error inside a rule."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            name = rules[loc[1]].get("name")
            return f"rule {name}" if name else None
    return None
