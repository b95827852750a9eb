"""Everything the embedded run shows afterwards, collected from the bus as it happens:
per-frame annotations, emotion and action histories, events and dead letters."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from schemas import ActionsMsg, DeadLetterMsg, EmotionsMsg, EventMsg, FacesMsg, FrameMsg, Message


@dataclass
class FrameMarks:
    ts: float
    faces: list[dict] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)


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
    faces_seen: int = 0
    bodies_seen: int = 0
    track_person: dict[tuple[str, str], str] = field(default_factory=dict)
    measure_latency: bool = False
    """Record capture-to-here seconds per message kind; meaningful only when capture times
    are wall-clock times (live cameras, files paced in real time)."""
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        self._events = open(self.events_path, "w", buffering=1)

    def process(self, batch: list[Message]) -> list:
        now = time.time()
        for message in batch:
            self.messages_by_kind[message.KIND] += 1
            if self.measure_latency and not isinstance(message, (FrameMsg, DeadLetterMsg)):
                self.latencies[message.KIND].append(now - (message.ts if isinstance(message, EventMsg) else message.ts_capture))
            if isinstance(message, FrameMsg):
                self.frames_seen[message.camera] += 1
                self.frame_sizes[message.camera] = (message.width, message.height)
                first = self.first_frame.get(message.camera)
                if first is None or message.seq < first[0]:
                    self.first_frame[message.camera] = (message.seq, message.ts_capture)
            elif isinstance(message, FacesMsg):
                frame = self._frame(message.camera, message.seq, message.ts_capture)
                self.faces_seen += len(message.faces)
                frame.faces = [{"track": f.track_id, "box": f.box, "status": f.identity.status, "name": f.identity.name,
                                "person": f.identity.person_id, "emotion": None} for f in message.faces]
            elif isinstance(message, EmotionsMsg):
                frame = self._frame(message.camera, message.seq, message.ts_capture)
                labels = {e.track_id: e.label for e in message.faces}
                for face in frame.faces:
                    face["emotion"] = labels.get(face["track"], face["emotion"])
                for reading in message.faces:
                    self.emotion_history[(message.camera, reading.track_id)].append((message.ts_capture, list(reading.probs)))
            elif isinstance(message, ActionsMsg):
                frame = self._frame(message.camera, message.seq, message.ts_capture)
                self.bodies_seen += len(message.persons)
                frame.bodies = [{"track": p.track_id, "box": p.box, "action": p.action} for p in message.persons]
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
        self._events.close()

    def settle_persons(self, final: dict[str, dict]) -> None:
        """Replace the people seen in events by the aggregator's final ones: a provisional
        person (a face still pending, a body not yet linked) that was merged into another
        hands its action history and tracks over to the person it became."""
        owner: dict[tuple[str, str], str] = {}
        for pid, state in final.items():
            for track in state.get("face_tracks", []) + state.get("body_tracks", []):
                for camera in state.get("cameras", []):
                    owner[(camera, track)] = pid
        for old, state in list(self.persons.items()):
            if old in final:
                continue
            tracks = state.get("face_tracks", []) + state.get("body_tracks", [])
            new = next((owner[(state["camera"], t)] for t in tracks if (state["camera"], t) in owner), None)
            history = self.action_history.pop(old, [])
            if new is not None and history:
                self.action_history[new] = sorted(self.action_history.get(new, []) + history)
        for (camera, track), pid in owner.items():
            self.track_person[(camera, track)] = pid
        self.persons = dict(final)

    def emotions_by_person(self) -> dict[str, list[tuple[float, list[float]]]]:
        merged: dict[str, list[tuple[float, list[float]]]] = defaultdict(list)
        for (camera, track), readings in self.emotion_history.items():
            merged[self.track_person.get((camera, track), f"{camera}:face:{track}")].extend(readings)
        return {person: sorted(readings) for person, readings in merged.items()}

    def _frame(self, camera: str, seq: int, ts: float) -> FrameMarks:
        frames = self.marks[camera]
        if seq not in frames:
            frames[seq] = FrameMarks(ts)
        return frames[seq]
