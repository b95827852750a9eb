"""The conditions of an alert rule: one small class per key under a rule's ``when``.

A condition is a pydantic model whose fields are the keys it reads under ``when``; its ``key``
(one of those fields) being set is what puts it in a rule. It says which scopes it applies to
(``person``: one fused person; ``camera``: everyone in view on one camera) and ``holds(subject,
context)``. ``@register`` adds it to ``REGISTRY``, which the rules loader and the incident
tracker read: a new kind of condition is one new class here (or anywhere imported before the
rules load), nothing else. docs/ARCHITECTURE.md ("Alert rules") walks through one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from aggregator.state import NEGATIVE_EMOTIONS, PersonState
from schemas import ACTION_LABELS, EMOTION_LABELS

Scope = Literal["person", "camera"]
SCOPES: tuple[Scope, ...] = ("person", "camera")


@dataclass
class CameraView:
    """What a camera-scope condition looks at: who is in view on one camera now."""

    camera: str
    persons: list[PersonState]

    @property
    def negative_share(self) -> float:
        with_emotion = [p for p in self.persons if p.emotion is not None]
        if not with_emotion:
            return 0.0
        return sum(p.emotion in NEGATIVE_EMOTIONS for p in with_emotion) / len(with_emotion)


Subject = PersonState | CameraView


@dataclass(frozen=True)
class Context:
    """What a condition may need besides its subject."""

    ts: float
    """Capture time being evaluated (durations are measured on the cameras' clock)."""
    watchlist: frozenset[str] = frozenset()


@dataclass(frozen=True)
class KnownCameras:
    """The cameras and zones a rule may name, as the aggregator knows them when the rules load.

    ``ids`` is None when the camera ids cannot be known there (no cameras file: in a deployment
    the producers own the camera list); ``zones`` then is empty, since zones come only from
    that file."""

    ids: frozenset[str] | None
    zones: Mapping[str, frozenset[str]] = field(default_factory=dict)
    origin: str = "no cameras file (aggregator.cameras / --cameras)"

    @classmethod
    def from_file(cls, cameras: Any, path: object) -> KnownCameras:
        """From a loaded cameras file (``vidsentry.config.cameras.CamerasFile``)."""
        return cls(frozenset(c.id for c in cameras.cameras),
                   {c.id: frozenset(z.name for z in c.zones) for c in cameras.cameras}, f"cameras file {path}")

    def zones_on(self, cameras: list[str]) -> set[str]:
        """Zone names defined on these cameras (all cameras when the list is empty)."""
        chosen = cameras or list(self.zones)
        return {name for camera in chosen for name in self.zones.get(camera, ())}


class Condition(BaseModel):
    """Base of every condition; subclasses set ``key`` and ``scopes`` and implement ``holds``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: ClassVar[str]
    """The ``when`` key that puts this condition in a rule (one of its fields)."""
    scopes: ClassVar[frozenset[Scope]]

    def holds(self, subject: Subject, context: Context) -> bool:
        raise NotImplementedError

    def check(self, rule_cameras: list[str], known: KnownCameras) -> None:
        """Raise ValueError when this condition can never hold on what the deployment has
        (called when the rules load, if the caller knows the cameras)."""


REGISTRY: dict[str, type[Condition]] = {}
"""``when`` key -> condition class, in registration order (the order rules evaluate them)."""


def register(cls: type[Condition]) -> type[Condition]:
    """Class decorator: make a condition kind available to rules files under ``cls.key``."""
    key = getattr(cls, "key", None)
    if key not in cls.model_fields:
        raise TypeError(f"{cls.__name__}.key must name one of its fields, got {key!r}")
    if not getattr(cls, "scopes", None) or not set(cls.scopes) <= set(SCOPES):
        raise TypeError(f"{cls.__name__}.scopes must be a non-empty subset of {SCOPES}")
    if key in REGISTRY and REGISTRY[key] is not cls:
        raise TypeError(f"condition {key!r} is already registered by {REGISTRY[key].__name__}")
    REGISTRY[key] = cls
    return cls


def parse_conditions(when: object) -> tuple[Condition, ...]:
    """The conditions a ``when`` mapping sets; a ValidationError locates each bad key."""
    if not isinstance(when, Mapping):
        raise PydanticCustomError("dict_type", "expected a mapping of conditions, e.g. {action: falling}")
    errors: list[dict] = []
    readers = {name: [cls for cls in REGISTRY.values() if name in cls.model_fields] for name in when}
    present = [cls for cls in REGISTRY.values() if when.get(cls.key) is not None]
    for name, value in when.items():
        if not readers[name]:
            errors.append({"type": "extra_forbidden", "loc": (name,), "input": value})
        elif value is not None and not any(cls in present for cls in readers[name]):
            owners = " or ".join(cls.key for cls in readers[name])
            errors.append({"type": PydanticCustomError("condition_alone", "{name} goes with {owners}",
                                                       {"name": name, "owners": owners}),
                           "loc": (name,), "input": value})
    conditions = []
    for cls in present:
        try:
            conditions.append(cls.model_validate({k: v for k, v in when.items() if k in cls.model_fields}))
        except ValidationError as exc:
            located = {e["loc"] for e in errors}  # a key two conditions read is reported once
            errors.extend({k: e[k] for k in ("type", "loc", "input", "ctx") if k in e} for e in exc.errors()
                          if e["loc"] not in located)
    if errors:
        raise ValidationError.from_exception_data("when", errors)
    if not conditions:
        raise PydanticCustomError("no_condition", "a rule needs at least one condition under `when`")
    return tuple(conditions)


@register
class Identity(Condition):
    key = "identity"
    scopes = frozenset({"person"})
    identity: Literal["unknown", "known", "watchlist"] = Field(
        description="Who: an unknown face, a known person, or a name on the watch list.")

    def holds(self, subject: Subject, context: Context) -> bool:
        if self.identity == "watchlist":
            return subject.identity == "known" and subject.name in context.watchlist
        return subject.identity == self.identity


@register
class Action(Condition):
    key = "action"
    scopes = frozenset({"person", "camera"})
    action: str = Field(description="What they are doing, one of the action labels (camera scope: someone in view is).")

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in ACTION_LABELS:
            raise ValueError(f"unknown action {value!r}; one of {', '.join(ACTION_LABELS)}")
        return value

    def holds(self, subject: Subject, context: Context) -> bool:
        if isinstance(subject, CameraView):
            return any(p.action == self.action for p in subject.persons)
        return subject.action == self.action


@register
class Emotion(Condition):
    key = "emotion"
    scopes = frozenset({"person"})
    emotion: str = Field(description="A facial emotion label whose smoothed probability must reach min_prob.")
    min_prob: float = Field(0.5, gt=0, le=1, description="Probability the emotion must reach.")

    @field_validator("emotion")
    @classmethod
    def _known_emotion(cls, value: str) -> str:
        if value not in EMOTION_LABELS:
            raise ValueError(f"unknown emotion {value!r}; one of {', '.join(EMOTION_LABELS)}")
        return value

    def holds(self, subject: Subject, context: Context) -> bool:
        probs = subject.emotion_probs
        return bool(probs) and probs[EMOTION_LABELS.index(self.emotion)] >= self.min_prob


@register
class Zone(Condition):
    key = "zone"
    scopes = frozenset({"person"})
    zone: str = Field(min_length=1, description="Name of a camera zone the person must be in.")

    def holds(self, subject: Subject, context: Context) -> bool:
        return self.zone in subject.zones

    def check(self, rule_cameras: list[str], known: KnownCameras) -> None:
        if known.ids is None:
            raise ValueError(f"unknown zone {self.zone!r}: zones are defined in the cameras file, and there is "
                             f"{known.origin}")
        defined = known.zones_on(rule_cameras)
        if self.zone in defined:
            return
        where = f"cameras {', '.join(rule_cameras)}" if rule_cameras else "any camera"
        listed = ", ".join(sorted(defined)) or "none"
        raise ValueError(f"unknown zone {self.zone!r}: no zone of that name on {where} in {known.origin} "
                         f"(zones there: {listed})")


@register
class Dwell(Condition):
    key = "dwell_s"
    scopes = frozenset({"person"})
    dwell_s: float = Field(gt=0, description="In view (or in `zone`) for at least this long.")
    zone: str | None = Field(None, description="Measure the dwell from entering this zone instead of coming into view.")

    def holds(self, subject: Subject, context: Context) -> bool:
        since = subject.zones.get(self.zone) if self.zone else subject.in_view_since
        return since is not None and context.ts - since >= self.dwell_s


@register
class CrowdMin(Condition):
    key = "crowd_min"
    scopes = frozenset({"camera"})
    crowd_min: int = Field(ge=1, description="camera scope: at least this many people in view.")

    def holds(self, subject: Subject, context: Context) -> bool:
        return len(subject.persons) >= self.crowd_min


@register
class NegativeShare(Condition):
    key = "negative_share"
    scopes = frozenset({"camera"})
    negative_share: float = Field(gt=0, le=1, description="camera scope: share of people whose emotion is angry, disgust or fear.")

    def holds(self, subject: Subject, context: Context) -> bool:
        return subject.negative_share >= self.negative_share
