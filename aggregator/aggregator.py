"""The aggregator stage: fold faces, emotions and actions into per-person state, evaluate
the rules, emit alerts, and publish per-person updates on the `events` topic.

Idempotent: each message (its id and capture time, ``claim_key``) is claimed in the state
store before its effects are kept, and a redelivered one is skipped; a new run of the same
file is not a redelivery. Restart-safe: persons and incidents are restored from
the store, and alert ids are derived from (rule, subject, start), so an incident that was
already raised is neither forgotten nor raised again.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from aggregator.alerts import AlertSink
from aggregator.clusters import ClusterLookup, TrackClusters, is_cluster
from aggregator.config import AggregatorConfig
from aggregator.fusion import CameraTracks, Fusion, FusionSettings, body_person_id, face_person_id, in_head_region, is_region
from aggregator.incidents import Alert, CameraView, IncidentTracker
from aggregator.metrics import ALERT_LATENCY, ALERTS, DUPLICATES, FUSED_UPDATES, LINKS, PERSONS_ACTIVE
from aggregator.rules import RuleSet
from aggregator.state import PersonState, StateStore
from aggregator.zones import zones_containing
from schemas import EMOTION_LABELS, ActionsMsg, EmotionsMsg, EventMsg, Face, FacesMsg, Message, PersonAction
from schemas.person_id import PersonId
from vidsentry.config.cameras import Zone
from vidsentry.privacy import blur_jpeg, blurs
from vidsentry.smoothing import ema_update

log = logging.getLogger(__name__)


class AggregatorStage:
    name = "aggregator"

    def __init__(self, rules: RuleSet, store: StateStore, sinks: list[AlertSink], config: AggregatorConfig | None = None,
                 zones: dict[str, list[Zone]] | None = None, clusters: ClusterLookup | None = None) -> None:
        """``clusters``: where an unknown face track's cluster ("unknown-N", the console's) is
        looked up; that cluster is then the person's id on every camera. None: no clusters."""
        self.config = config or AggregatorConfig()
        self.rules = rules
        self.store = store
        self.sinks = sinks
        self.zones = zones or {}
        self.fusion = Fusion(FusionSettings(self.config.link_votes, self.config.fusion_window_s, self.config.regain_s))
        self.clusters = TrackClusters(clusters) if clusters is not None else None
        self.persons: dict[str, PersonState] = {p.person_id: p for p in store.load_persons()}
        self.tracker = IncidentTracker(rules, self.config.end_grace_s, store.load_incidents())
        self.snapshots: dict[str, tuple[float, bytes]] = {}
        self.last_event: dict[str, tuple[float, tuple]] = {}
        self.alerts_emitted: list[Alert] = []
        self._early_emotions: dict[tuple[str, str], list[tuple[float, np.ndarray]]] = {}
        """Emotion readings that arrived before their face track (different topics, any order)."""
        if self.persons or self.tracker.incidents:
            log.info("aggregator: restored %d persons and %d incidents", len(self.persons), len(self.tracker.incidents))

    def process(self, batch: list[Message]) -> list[EventMsg]:
        self._changed: dict[str, PersonState] = {}
        self._removed: set[str] = set()
        camera_now: dict[str, tuple[float, str]] = {}
        fresh = self.store.claim([claim_key(m) for m in batch])
        for message, is_new in zip(batch, fresh):
            kind = message.KIND
            if not is_new:
                DUPLICATES.labels(kind).inc()
                continue
            if isinstance(message, FacesMsg):
                self._on_faces(message)
            elif isinstance(message, ActionsMsg):
                self._on_actions(message)
            elif isinstance(message, EmotionsMsg):
                self._on_emotions(message)
            else:
                continue
            FUSED_UPDATES.labels(kind).inc()
            latest = camera_now.get(message.camera)
            if latest is None or message.ts_capture >= latest[0]:
                camera_now[message.camera] = (message.ts_capture, message.id)
        alerts = [a for camera, (ts, _) in camera_now.items() for a in self._evaluate(camera, ts)]
        self._persist(alerts)
        self._emit(alerts)
        return self._events()

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def in_view(self, camera: str, ts: float) -> list[PersonState]:
        return [p for p in self.persons.values()
                if p.camera == camera and 0 <= ts - p.last_seen <= self.config.view_timeout_s]

    def _on_faces(self, msg: FacesMsg) -> None:
        self.fusion.note_stills(msg.camera, msg.still)
        for face in msg.faces:
            person = self._face_person(msg.camera, face, msg.ts_capture)
            person.seen_at(msg.camera, msg.ts_capture, self.config.regain_s)
            if face.identity.status != "pending":
                person.identity, person.name = face.identity.status, face.identity.name
                if person.identity == "unknown" and is_cluster(person.person_id):
                    person.name = person.person_id  # shown as "unknown-N" wherever names are
            if not person.body_tracks:
                self._place(person, face.box, msg.width, msg.height, msg.ts_capture, feet=False)
            if face.track_id not in person.face_tracks:
                person.face_tracks.append(face.track_id)
            if face.crop:
                quality = face.quality.size_px if face.quality else 0.0
                best = self.snapshots.get(person.person_id)
                if best is None or quality >= best[0] * 0.8:
                    self.snapshots[person.person_id] = (quality, face.crop)
            self._changed[person.person_id] = person
            for _, probs in sorted(self._early_emotions.pop((msg.camera, face.track_id), []), key=lambda r: r[0]):
                self._apply_emotion(person, probs)
        for link in self.fusion.add_faces(msg.camera, msg.seq, msg.ts_capture, msg.faces, msg.still):
            self._link(msg.camera, link.face_track, link.body_track)

    def _on_actions(self, msg: ActionsMsg) -> None:
        self.fusion.note_stills(msg.camera, msg.still)
        for body in msg.persons:
            person = self._body_person(msg.camera, body, msg.ts_capture)
            person.seen_at(msg.camera, msg.ts_capture, self.config.regain_s)
            if body.action != person.action:
                person.action, person.action_since = body.action, msg.ts_capture
            person.action_confidence = body.confidence
            self._place(person, body.box, msg.width, msg.height, msg.ts_capture, feet=True)
            if body.track_id not in person.body_tracks:
                person.body_tracks.append(body.track_id)
            self._changed[person.person_id] = person
        for link in self.fusion.add_bodies(msg.camera, msg.seq, msg.ts_capture, msg.persons, msg.still):
            self._link(msg.camera, link.face_track, link.body_track)

    def _on_emotions(self, msg: EmotionsMsg) -> None:
        order = [msg.labels.index(label) for label in EMOTION_LABELS] if list(msg.labels) != list(EMOTION_LABELS) else None
        tracks = self.fusion.cameras[msg.camera]
        for reading in msg.faces:
            if reading.quality is not None and reading.quality.size_px < self.config.min_emotion_face_px:
                continue
            probs = np.asarray(reading.probs, float)
            if order is not None:
                probs = probs[order]
            person_id = tracks.face_person.get(reading.track_id) or reading.person_id
            if person_id is None or person_id not in self.persons:
                self._early_emotions.setdefault((msg.camera, reading.track_id), []).append((msg.ts_capture, probs))
                continue
            self._apply_emotion(self.persons[person_id], probs)
        self._forget_early_emotions(msg.ts_capture)

    def _apply_emotion(self, person: PersonState, probs: np.ndarray) -> None:
        previous = np.asarray(person.emotion_probs) if person.emotion_probs is not None else None
        smoothed = ema_update(previous, probs, self.config.emotion_alpha)
        person.emotion_probs = [round(float(p), 4) for p in smoothed]
        person.emotion = EMOTION_LABELS[int(np.argmax(smoothed))]
        self._changed[person.person_id] = person

    def _forget_early_emotions(self, ts: float) -> None:
        """Readings whose face never showed up within the fusion window are dropped (bounded memory)."""
        horizon = ts - self.config.fusion_window_s
        for key in [k for k, readings in self._early_emotions.items() if readings[-1][0] < horizon]:
            del self._early_emotions[key]

    def _face_person(self, camera: str, face: Face, ts: float) -> PersonState:
        tracks = self.fusion.cameras[camera]
        wanted = self._face_id(camera, face, ts)
        current = tracks.face_person.get(face.track_id)
        by_id = face.identity.status == "known" or is_cluster(str(wanted))
        if current is None:
            chosen = (self._regain(camera, face.box, ts) if not by_id else None) or str(wanted)
            tracks.face_person[face.track_id] = chosen
            return self._person(chosen, camera, ts)
        if current != str(wanted) and is_cluster(str(wanted)) and face.identity.status == "unknown":
            return self._into_cluster(camera, face.track_id, current, str(wanted), ts)
        named = face.identity.status == "known" or (PersonId.is_provisional(current) and not wanted.provisional)
        if current != str(wanted) and named:
            self._merge(current, str(wanted), camera, ts)
            return self.persons[str(wanted)]
        return self._person(current, camera, ts)

    def _face_id(self, camera: str, face: Face, ts: float) -> PersonId:
        """An unknown face in a cluster is the cluster, on every camera; otherwise as fusion says.
        A track that leaves its cluster (named in the console, erased) keeps the person it has."""
        if face.identity.status == "unknown" and self.clusters is not None:
            cluster = self.clusters.cluster(camera, face.track_id, ts)
            if cluster is not None and is_cluster(cluster):
                return PersonId.settled(cluster)
        return face_person_id(camera, face)

    def _into_cluster(self, camera: str, track: str, current: str, cluster: str, ts: float) -> PersonState:
        """An unknown track found in ``cluster``: its person record (provisional, anonymous, or a
        cluster the console merged away) becomes the cluster's. When the record is more than this
        track (a known person's, or a cluster other live tracks are still in: the console split
        this track off), only this track moves."""
        person = self.persons.get(current)
        shared = (person is not None and person.identity == "known") or (
            is_cluster(current) and self.clusters is not None and self.clusters.others_in(current, camera, track, ts))
        if not shared:
            self._merge(current, cluster, camera, ts)
            return self.persons[cluster]
        self.fusion.cameras[camera].face_person[track] = cluster
        if person is not None and track in person.face_tracks:
            person.face_tracks.remove(track)
            self._changed[current] = person
        return self._person(cluster, camera, ts)

    def _body_person(self, camera: str, body: PersonAction, ts: float) -> PersonState:
        tracks = self.fusion.cameras[camera]
        current = tracks.body_person.get(body.track_id)
        if current is None:
            regained = None if is_region(body.track_id) else self._regain(camera, body.box, ts)
            current = regained or str(body_person_id(camera, body))
            tracks.body_person[body.track_id] = current
        return self._person(current, camera, ts)

    def _link(self, camera: str, face_track: str, body_track: str) -> None:
        tracks = self.fusion.cameras[camera]
        face_pid = tracks.face_person.get(face_track)
        body_pid = tracks.body_person.get(body_track)
        if face_pid is None or body_pid is None or face_pid == body_pid:
            return
        face_side, body_side = self.persons[face_pid], self.persons[body_pid]
        if _two_people(face_side, body_side, tracks):
            log.debug("fusion on %s: %s and %s stay apart (two people seen at once)", camera, face_pid, body_pid)
            return
        LINKS.inc()
        keep, drop = _survivor(face_side, body_side)
        self._merge(drop.person_id, keep.person_id, camera, keep.last_seen)

    def _merge(self, old: str, new: str, camera: str, ts: float) -> None:
        """Fold person ``old`` into ``new`` and repoint every track that led to ``old``."""
        target = self._person(new, camera, ts)
        if old in self.persons and old != new:
            target.absorb(self.persons.pop(old), self.config.regain_s)
            self._removed.add(old)
            self._changed.pop(old, None)
            if old in self.snapshots and new not in self.snapshots:
                self.snapshots[new] = self.snapshots.pop(old)
        for tracks in self.fusion.cameras.values():
            for mapping in (tracks.face_person, tracks.body_person):
                for track, pid in mapping.items():
                    if pid == old:
                        mapping[track] = new
        self._changed[new] = target

    def _regain(self, camera: str, box: list[float], ts: float) -> str | None:
        """A person of this camera lost moments ago near this box (not a known one: those re-link by name)."""
        if self.fusion.cameras[camera].photos:
            return None
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        size = max(box[2] - box[0], box[3] - box[1])
        best, best_distance = None, float("inf")
        for person in self.persons.values():
            if person.camera != camera or person.identity == "known" or person.box is None or any(map(is_region, person.body_tracks)):
                continue
            gap = ts - person.last_seen
            if not (0.25 < gap <= self.config.regain_s):
                continue
            px, py = (person.box[0] + person.box[2]) / 2, (person.box[1] + person.box[3]) / 2
            distance = ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5
            near = distance < size or (person.body_tracks and in_head_region(box, person.box, self.fusion.settings.head_fraction))
            if near and distance < best_distance:
                best, best_distance = person.person_id, distance
        return best

    def _person(self, person_id: str, camera: str, ts: float) -> PersonState:
        person = self.persons.get(person_id)
        if person is None:
            person = PersonState(person_id=person_id, camera=camera, first_seen=ts, last_seen=ts, in_view_since=ts,
                                 cameras=[camera])
            if not PersonId.is_provisional(person_id):
                person.identity = "unknown"
            self.persons[person_id] = person
        return person

    def _place(self, person: PersonState, box: list[float], width: int, height: int, ts: float, feet: bool) -> None:
        person.box, person.frame_size = list(box), [width, height]
        zones = self.zones.get(person.camera)
        if not zones:
            return
        x = (box[0] + box[2]) / 2 / width
        y = (box[3] if feet else (box[1] + box[3]) / 2) / height
        inside = zones_containing(zones, x, y)
        person.zones = {name: person.zones.get(name, ts) for name in inside}

    def _evaluate(self, camera: str, ts: float) -> list[Alert]:
        """Rules for everyone this camera saw recently, and for the camera as a whole."""
        alerts: list[Alert] = []
        horizon = self.config.view_timeout_s + self.config.end_grace_s + 1.0
        in_view = self.in_view(camera, ts)
        PERSONS_ACTIVE.labels(camera).set(len(in_view))
        for person in [p for p in self.persons.values() if p.camera == camera and ts - p.last_seen <= horizon]:
            if ts - person.last_seen > self.config.view_timeout_s:
                alerts.extend(self.tracker.evaluate_person(_out_of_view(person), ts))
            else:
                alerts.extend(self.tracker.evaluate_person(person, ts))
        alerts.extend(self.tracker.evaluate_camera(CameraView(camera, in_view), ts))
        for key in [k for k, v in self.tracker.active().items() if v.camera == camera]:
            subject = key.split(":", 1)[1]
            gone = self.persons.get(subject)
            if gone is not None and ts - gone.last_seen > horizon:
                alerts.extend(self.tracker.evaluate_person(_out_of_view(gone), ts))
        return alerts

    def _persist(self, alerts: list[Alert]) -> None:
        self.store.save_persons(list(self._changed.values()))
        for person_id in self._removed:
            self.store.delete_person(person_id)
        for alert in alerts:
            key = f"{alert.rule}:{alert.subject}"
            self.store.save_incident(key, self.tracker.incidents[key], self.tracker.ttl_of(key))
        cutoff = max((p.last_seen for p in self.persons.values()), default=0) - self.config.person_ttl_s
        for person_id in [pid for pid, p in self.persons.items() if p.last_seen < cutoff]:
            del self.persons[person_id]
            self.snapshots.pop(person_id, None)

    def _emit(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            snapshot = self._shown_snapshot(alert, self.snapshots.get(alert.subject, (0, None))[1])
            alert.emitted = round(time.time(), 3)
            for sink in self.sinks:
                sink.emit(alert, snapshot)
            ALERTS.labels(alert.rule, alert.severity, alert.status).inc()
            if alert.status == "raised":
                ALERT_LATENCY.observe(max(0.0, alert.emitted - alert.ts))
            log.info("alert %s %s %s on %s: %s", alert.status, alert.severity, alert.rule, alert.camera, alert.subject)
            self.alerts_emitted.append(alert)

    def _shown_snapshot(self, alert: Alert, snapshot: bytes | None) -> bytes | None:
        """The snapshot as the sinks may keep it: blurred when ``blur_snapshots`` says so for
        this person; dropped when it must be blurred but cannot be decoded."""
        if snapshot is None or not blurs(self.config.blur_snapshots, self._identity(alert)):
            return snapshot
        blurred = blur_jpeg(snapshot)
        if blurred is None:
            log.warning("alert %s: the snapshot cannot be decoded to blur it; it is not kept", alert.id)
        return blurred

    def _identity(self, alert: Alert) -> str | None:
        person = self.persons.get(alert.subject)
        return person.identity if person is not None else (alert.person or {}).get("identity")

    def _events(self) -> list[EventMsg]:
        events = []
        for person in self._changed.values():
            summary = (person.identity, person.name, person.action, person.emotion, person.camera, tuple(sorted(person.zones)))
            last = self.last_event.get(person.person_id)
            if last is not None and last[1] == summary and person.last_seen - last[0] < self.config.event_interval_s:
                continue
            self.last_event[person.person_id] = (person.last_seen, summary)
            events.append(EventMsg(id=f"{person.person_id}@{person.last_seen:.3f}", person_id=person.person_id,
                                   camera=person.camera, ts=person.last_seen, state=person.to_json()))
        return events


def claim_key(message: Message) -> str:
    """What makes a message the same message for idempotency: its id (``camera:seq:stage``) and
    its capture time. A redelivery repeats both; a new run of the same file numbers its frames
    from 0 again (seq is the frame index) but stamps them from that run's own start, so it is
    new. Live cameras' seqs are unique already (they start at the start time in ms)."""
    ts = getattr(message, "ts_capture", None)
    return message.id if ts is None else f"{message.id}@{ts!r}"


def _survivor(face_side: PersonState, body_side: PersonState) -> tuple[PersonState, PersonState]:
    """Which of two people found to be one keeps the id: a known identity, else a settled
    id over a provisional one, else whoever was seen first."""
    for keep, drop in ((face_side, body_side), (body_side, face_side)):
        if keep.identity == "known" and drop.identity != "known":
            return keep, drop
    provisional = [PersonId.is_provisional(p.person_id) for p in (face_side, body_side)]
    if provisional == [True, False]:
        return body_side, face_side
    if provisional == [False, True]:
        return face_side, body_side
    return (face_side, body_side) if face_side.first_seen <= body_side.first_seen else (body_side, face_side)


def _two_people(a: PersonState, b: PersonState, tracks: CameraTracks) -> bool:
    """Records that cannot be one person: two different known people, or two faces or two
    bodies of this camera seen at the same time, one in each record."""
    if a.identity == "known" and b.identity == "known" and a.person_id != b.person_id:
        return True
    return tracks.seen_together(a.face_tracks, b.face_tracks) or tracks.seen_together(a.body_tracks, b.body_tracks)


def _out_of_view(person: PersonState) -> PersonState:
    """The person as rules should see them once they left: no action, no zone, no dwell."""
    gone = PersonState.from_json(person.to_json())
    gone.action, gone.zones, gone.emotion_probs, gone.identity = None, {}, None, "gone"
    return gone
