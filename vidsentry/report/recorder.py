"""Everything the embedded run shows afterwards, collected from the bus as it happens:
per-frame annotations, emotion and action histories, events and dead letters."""

from __future__ import annotations

import json
import time
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from schemas import ActionsMsg, DeadLetterMsg, EmotionsMsg, EventMsg, FacesMsg, FrameMsg, Message
from schemas.person_id import PersonId


@dataclass
class FrameMarks:
    ts: float
    faces: list[dict] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)
    emotions: dict[str, str] = field(default_factory=dict)
    """Emotion label by face track; kept apart so it survives whichever topic arrives first."""


@dataclass
class Recorder:
    """A stage-shaped sink (``process`` returns nothing) that the embedded runner feeds."""

    events_path: Path
    name: str = "recorder"
    marks: dict[str, dict[int, FrameMarks]] = field(default_factory=lambda: defaultdict(dict))
    frame_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    frames_seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_frame: dict[str, tuple[int, float]] = field(default_factory=dict)
    emotion_history: dict[tuple[str, str], list[tuple[float, list[float]]]] = field(default_factory=lambda: defaultdict(list))
    """By (camera, face track): which person a track belongs to is only known later."""
    action_history: dict[str, list[tuple[float, str]]] = field(default_factory=lambda: defaultdict(list))
    persons: dict[str, dict] = field(default_factory=dict)
    dead_letters: list[dict] = field(default_factory=list)
    messages_by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_seen: dict[str, float] = field(default_factory=dict)
    """When (epoch seconds) the first message of each kind reached the recorder: start-up per stage."""
    faces_seen: int = 0
    bodies_seen: int = 0
    track_person: dict[tuple[str, str], str] = field(default_factory=dict)
    measure_latency: bool = False
    """Record capture-to-here seconds per message kind; meaningful only when capture times
    are wall-clock times (live cameras, files paced in real time)."""
    latencies: dict[str, array] = field(default_factory=lambda: defaultdict(lambda: array("d")))
    stills: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    """Seqs of each camera's still frames (photos of an image folder): each is reported on its own."""
    face_reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    """The last reason a face track was pending, by (camera, track)."""

    marks_path: Path | None = None
    """Where per-frame marks are appended as JSON lines during the run, to be read back into
    ``marks`` by ``close``: a live run of hours keeps a flat memory (a street camera's marks
    are ~2 KB a frame). None keeps them in memory as they come (short runs, tests)."""

    def __post_init__(self) -> None:
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        self._events = open(self.events_path, "w", buffering=1)
        self._marks_log = open(self.marks_path, "w", buffering=1 << 16) if self.marks_path else None

    def process(self, batch: list[Message]) -> list:
        now = time.time()
        for message in batch:
            self.messages_by_kind[message.KIND] += 1
            self.first_seen.setdefault(message.KIND, now)
            if self.measure_latency and not isinstance(message, (FrameMsg, DeadLetterMsg)):
                self.latencies[message.KIND].append(now - (message.ts if isinstance(message, EventMsg) else message.ts_capture))
            if isinstance(message, FrameMsg):
                self.frames_seen[message.camera] += 1
                self.frame_sizes[message.camera] = (message.width, message.height)
                if message.still:
                    self.stills[message.camera].add(message.seq)
                first = self.first_frame.get(message.camera)
                if first is None or message.seq < first[0]:
                    self.first_frame[message.camera] = (message.seq, message.ts_capture)
            elif isinstance(message, FacesMsg):
                self.faces_seen += len(message.faces)
                self._mark(message.camera, message.seq, message.ts_capture, "faces",
                           [{"track": f.track_id, "box": f.box, "status": f.identity.status, "name": f.identity.name,
                             "person": f.identity.person_id, "reason": f.identity.reason, "emotion": None}
                            for f in message.faces])
                for face in message.faces:
                    if face.identity.reason:
                        self.face_reasons[(message.camera, face.track_id)] = face.identity.reason
            elif isinstance(message, EmotionsMsg):
                self._mark(message.camera, message.seq, message.ts_capture, "emotions",
                           {e.track_id: e.label for e in message.faces})
                for reading in message.faces:
                    self.emotion_history[(message.camera, reading.track_id)].append((message.ts_capture, list(reading.probs)))
            elif isinstance(message, ActionsMsg):
                self.bodies_seen += len(message.persons)
                self._mark(message.camera, message.seq, message.ts_capture, "bodies",
                           [{"track": p.track_id, "box": p.box, "action": p.action} for p in message.persons])
            elif isinstance(message, EventMsg):
                self._events.write(json.dumps({"id": message.id, "person_id": message.person_id, "camera": message.camera,
                                               "ts": message.ts, "state": message.state}) + "\n")
                self.persons[message.person_id] = message.state
                for track in message.state.get("face_tracks", []):
                    self.track_person[(message.camera, track)] = message.person_id
                action = message.state.get("action")
                history = self.action_history[message.person_id]
                if action and (not history or history[-1][1] != action):
                    history.append((message.ts, action))
            elif isinstance(message, DeadLetterMsg):
                self.dead_letters.append({"stage": message.stage, "topic": message.topic, "error": message.error})
        return []

    def close(self) -> None:
        """Close the events file; with ``marks_path``, read the marks back (and remove the file)."""
        self._events.close()
        if self._marks_log is None:
            return
        self._marks_log.close()
        self._marks_log = None
        with open(self.marks_path) as lines:
            for line in lines:
                camera, seq, ts, kind, value = json.loads(line)
                _apply(self._frame(camera, seq, ts), kind, value)
        self.marks_path.unlink()

    def _mark(self, camera: str, seq: int, ts: float, kind: str, value: list | dict) -> None:
        if self._marks_log is not None:
            self._marks_log.write(json.dumps([camera, seq, ts, kind, value], separators=(",", ":")) + "\n")
        else:
            _apply(self._frame(camera, seq, ts), kind, value)

    def settle_persons(self, final: dict[str, dict]) -> None:
        """Replace the people seen in events by the aggregator's final ones: a provisional
        person (a face still pending, a body not yet linked) that was merged into another
        hands its action history and tracks over to the person it became."""
        owner: dict[tuple[str, str], str] = {}
        became = {old: pid for pid, state in final.items() for old in state.get("merged", [])}
        for pid, state in final.items():
            for track in state.get("face_tracks", []) + state.get("body_tracks", []):
                for camera in state.get("cameras", []):
                    owner[(camera, track)] = pid
        for old, state in list(self.persons.items()):
            if old in final:
                continue
            tracks = state.get("face_tracks", []) + state.get("body_tracks", [])
            new = became.get(old) or next((owner[(state["camera"], t)] for t in tracks if (state["camera"], t) in owner), None)
            history = self.action_history.pop(old, [])
            if new is not None and history:
                self.action_history[new] = sorted(self.action_history.get(new, []) + history)
        for (camera, track), pid in owner.items():
            self.track_person[(camera, track)] = pid
        self.persons = dict(final)

    def emotions_by_person(self) -> dict[str, list[tuple[float, list[float]]]]:
        merged: dict[str, list[tuple[float, list[float]]]] = defaultdict(list)
        for (camera, track), readings in self.emotion_history.items():
            merged[self.track_person.get((camera, track), str(PersonId.face(camera, track)))].extend(readings)
        return {person: sorted(readings) for person, readings in merged.items()}

    def _frame(self, camera: str, seq: int, ts: float) -> FrameMarks:
        frames = self.marks[camera]
        if seq not in frames:
            frames[seq] = FrameMarks(ts)
        return frames[seq]


def _apply(frame: FrameMarks, kind: str, value: list | dict) -> None:
    """One stage's marks for a frame; faces and their emotions may arrive in either order."""
    if kind == "faces":
        frame.faces = value
        for face in frame.faces:
            face["emotion"] = frame.emotions.get(face["track"], face["emotion"])
    elif kind == "emotions":
        frame.emotions.update(value)
        for face in frame.faces:
            face["emotion"] = value.get(face["track"], face["emotion"])
    else:
        frame.bodies = value
