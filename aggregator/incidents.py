"""Evaluate rules against fused state and turn what holds into incidents: one alert when
it starts, an update when it escalates, one when it ends; cooldown between incidents."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from aggregator.conditions import CameraView, Context, Subject
from aggregator.metrics import SUPPRESSED
from aggregator.rules import SEVERITY_ORDER, Rule, RuleSet
from aggregator.state import Incident, PersonState

SEVERITIES = sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.get)
__all__ = ["Alert", "CameraView", "Incident", "IncidentTracker"]


@dataclass
class Alert:
    id: str
    rule: str
    severity: str
    status: str
    subject: str
    camera: str
    ts: float
    started: float
    description: str
    person: dict | None = None
    evidence: dict = field(default_factory=dict)
    snapshot: str | None = None
    emitted: float = 0.0
    """Wall-clock time the aggregator emitted this record (``ts`` is the capture time of the
    frame that caused it; the difference is the capture-to-alert latency)."""

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


class IncidentTracker:
    def __init__(self, rules: RuleSet, end_grace_s: float = 2.0, restored: dict[str, Incident] | None = None) -> None:
        self.rules = rules
        self.zone = ZoneInfo(rules.timezone)
        self.watchlist = frozenset(rules.watchlist)
        self.end_grace_s = end_grace_s
        self.holding_since: dict[str, float] = {}
        self.false_since: dict[str, float] = {}
        self.incidents: dict[str, Incident] = dict(restored or {})

    def evaluate_person(self, person: PersonState, ts: float) -> list[Alert]:
        alerts, context = [], Context(ts, self.watchlist)
        for rule in self.rules.rules:
            if rule.scope == "person":
                holds = self._holds(rule, person, person.camera, context)
                alerts.extend(self._step(rule, person.person_id, person.camera, holds, ts, person.to_json()))
        return alerts

    def evaluate_camera(self, view: CameraView, ts: float) -> list[Alert]:
        alerts, context = [], Context(ts, self.watchlist)
        for rule in self.rules.rules:
            if rule.scope == "camera":
                holds = self._holds(rule, view, view.camera, context)
                evidence = {"in_view": len(view.persons), "negative_share": round(view.negative_share, 3),
                            "persons": {p.person_id: {"name": p.name, "action": p.action, "emotion": p.emotion}
                                        for p in view.persons}}
                alerts.extend(self._step(rule, f"camera:{view.camera}", view.camera, holds, ts, None, evidence))
        return alerts

    def active(self) -> dict[str, Incident]:
        return {k: v for k, v in self.incidents.items() if v.status != "ended"}

    def _holds(self, rule: Rule, subject: Subject, camera: str, context: Context) -> bool:
        if not self._applies(rule, camera, context.ts):
            return False
        return all(condition.holds(subject, context) for condition in rule.when)

    def _applies(self, rule: Rule, camera: str, ts: float) -> bool:
        if rule.cameras and camera not in rule.cameras:
            return False
        if rule.active:
            local = dt.datetime.fromtimestamp(ts, self.zone).time()
            return any(window.contains(local) for window in rule.active)
        return True

    def _step(self, rule: Rule, subject: str, camera: str, holds: bool, ts: float, person: dict | None,
              evidence: dict | None = None) -> list[Alert]:
        key = f"{rule.name}:{subject}"
        incident = self.incidents.get(key)
        if holds:
            self.false_since.pop(key, None)
            since = self.holding_since.setdefault(key, ts)
            if incident is None or incident.status == "ended":
                cooling = incident is not None and ts < incident.ended + rule.cooldown_s
                if ts - since >= rule.for_s and not cooling:
                    incident = self._open(rule, subject, camera, since, ts)
                    return [self._alert(rule, incident, ts, person, evidence)]
                if cooling:
                    SUPPRESSED.labels(rule.name).inc()
                return []
            if rule.escalate_after_s and not incident.escalated and ts - incident.started >= rule.escalate_after_s:
                incident.escalated = True
                incident.severity = SEVERITIES[min(len(SEVERITIES) - 1, SEVERITY_ORDER[incident.severity] + 1)]
                incident.status = "escalated"
                return [self._alert(rule, incident, ts, person, evidence)]
            SUPPRESSED.labels(rule.name).inc()
            return []
        self.holding_since.pop(key, None)
        if incident is None or incident.status == "ended":
            return []
        false_since = self.false_since.setdefault(key, ts)
        if ts - false_since < self.end_grace_s:
            return []
        incident.status = "ended"
        incident.ended = ts
        self.false_since.pop(key, None)
        return [self._alert(rule, incident, ts, person, evidence)]

    def _open(self, rule: Rule, subject: str, camera: str, since: float, ts: float) -> Incident:
        alert_id = hashlib.sha1(f"{rule.name}|{subject}|{since:.3f}".encode()).hexdigest()[:16]
        incident = Incident(id=alert_id, rule=rule.name, subject=subject, camera=camera, started=ts,
                            severity=rule.severity)
        self.incidents[incident.key] = incident
        return incident

    def ttl_of(self, key: str) -> float:
        """How long an incident record must outlive its end: the rule's cooldown."""
        rule_name = key.split(":", 1)[0]
        rule = next((r for r in self.rules.rules if r.name == rule_name), None)
        return (rule.cooldown_s if rule else 0) + 3600

    def _alert(self, rule: Rule, incident: Incident, ts: float, person: dict | None, evidence: dict | None) -> Alert:
        return Alert(id=incident.id, rule=rule.name, severity=incident.severity, status=incident.status,
                     subject=incident.subject, camera=incident.camera, ts=ts, started=incident.started,
                     description=rule.description, person=person, evidence=evidence or {})
