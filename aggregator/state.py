"""Per-person fused state and where it is kept: Redis in a deployment, memory when embedded."""

from __future__ import annotations

import dataclasses
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal, Protocol

NEGATIVE_EMOTIONS = frozenset({"angry", "disgust", "fear"})


@dataclass
class PersonState:
    person_id: str
    camera: str
    first_seen: float
    last_seen: float
    identity: str = "pending"
    name: str | None = None
    cameras: list[str] = field(default_factory=list)
    in_view_since: float = 0.0
    emotion: str | None = None
    emotion_probs: list[float] | None = None
    action: str | None = None
    action_confidence: float | None = None
    action_since: float | None = None
    zones: dict[str, float] = field(default_factory=dict)
    box: list[float] | None = None
    frame_size: list[int] | None = None
    face_tracks: list[str] = field(default_factory=list)
    body_tracks: list[str] = field(default_factory=list)
    snapshot: str | None = None
    merged: list[str] = field(default_factory=list)
    """Ids of the records folded into this one (a face or body track's provisional record, an
    anonymous id later named): whoever kept one of them finds the person here."""

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> PersonState:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def seen_at(self, camera: str, ts: float, gap_s: float) -> None:
        """Note a sighting; a break longer than ``gap_s`` restarts the dwell clock (a person seen
        on another camera within ``gap_s`` stays in view: their dwell goes on); zones are per camera."""
        if ts - self.last_seen > gap_s:
            self.in_view_since = ts
        if camera != self.camera or ts - self.last_seen > gap_s:
            self.zones = {}
        self.camera = camera
        if camera not in self.cameras:
            self.cameras.append(camera)
        self.first_seen = min(self.first_seen, ts)
        self.last_seen = max(self.last_seen, ts)

    def absorb(self, other: PersonState, gap_s: float) -> None:
        """Fold a provisional person (e.g. a body track) into this one. The dwell clock runs from
        the earlier of the two visits only when they are one visit (no break longer than ``gap_s``):
        a known person or a stranger's cluster last seen an hour ago starts a new visit now."""
        early, late = sorted((self, other), key=lambda p: p.last_seen)
        continuous = early.last_seen >= (late.in_view_since or late.first_seen) - gap_s
        self.in_view_since = (min(self.in_view_since or other.in_view_since, other.in_view_since or self.in_view_since)
                              if continuous else late.in_view_since)
        self.first_seen = min(self.first_seen, other.first_seen)
        for camera in other.cameras:
            if camera not in self.cameras:
                self.cameras.append(camera)
        self.face_tracks = sorted(set(self.face_tracks) | set(other.face_tracks))
        self.body_tracks = sorted(set(self.body_tracks) | set(other.body_tracks))
        self.merged = sorted((set(self.merged) | set(other.merged) | {other.person_id}) - {self.person_id})
        if other.last_seen >= self.last_seen:
            self.last_seen, self.camera = other.last_seen, other.camera
            if other.action is not None:
                self.action, self.action_confidence, self.action_since = other.action, other.action_confidence, other.action_since
            self.box, self.frame_size = other.box or self.box, other.frame_size or self.frame_size
        if self.emotion_probs is None:
            self.emotion_probs, self.emotion = other.emotion_probs, other.emotion
        for zone, since in other.zones.items():
            self.zones[zone] = min(since, self.zones.get(zone, since))
        self.snapshot = self.snapshot or other.snapshot


IncidentStatus = Literal["raised", "escalated", "ended"]


@dataclass
class Incident:
    """One rule holding for one subject (a person id, or ``camera:<id>``), from raised to ended."""

    id: str
    rule: str
    subject: str
    camera: str
    started: float
    severity: str
    status: IncidentStatus = "raised"
    escalated: bool = False
    ended: float = 0.0
    """Capture time it ended (0 while it lasts): the cooldown counts from here."""

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Incident:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class StateStore(Protocol):
    def claim(self, message_ids: list[str]) -> list[bool]:
        """For each id, True the first time it is seen (idempotency of redelivered messages)."""

    def save_persons(self, persons: list[PersonState]) -> None: ...

    def delete_person(self, person_id: str) -> None: ...

    def load_persons(self) -> list[PersonState]: ...

    def save_incident(self, key: str, incident: Incident, ttl_s: float) -> None: ...

    def load_incidents(self) -> dict[str, Incident]: ...


class MemoryStore:
    """State for embedded mode without Redis; bounded like the Redis keys' TTLs would be."""

    def __init__(self, max_seen: int = 200_000) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.max_seen = max_seen
        self.persons: dict[str, dict] = {}
        self.incidents: dict[str, dict] = {}

    def claim(self, message_ids: list[str]) -> list[bool]:
        fresh = []
        for mid in message_ids:
            fresh.append(mid not in self.seen)
            self.seen[mid] = None
            self.seen.move_to_end(mid)
        while len(self.seen) > self.max_seen:
            self.seen.popitem(last=False)
        return fresh

    def save_persons(self, persons: list[PersonState]) -> None:
        for person in persons:
            self.persons[person.person_id] = json.loads(json.dumps(person.to_json()))

    def delete_person(self, person_id: str) -> None:
        self.persons.pop(person_id, None)

    def load_persons(self) -> list[PersonState]:
        return [PersonState.from_json(p) for p in self.persons.values()]

    def save_incident(self, key: str, incident: Incident, ttl_s: float) -> None:
        self.incidents[key] = incident.to_json()

    def load_incidents(self) -> dict[str, Incident]:
        return {k: Incident.from_json(v) for k, v in self.incidents.items()}
