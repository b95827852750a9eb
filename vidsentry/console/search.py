"""Search of past events: an embedded SQLite file fed by the ``events`` topic through one more
consumer group of the console (``<console.group>-search``), holding each event's person, name,
identity, camera, emotion (and its probabilities), action and face tracks for
``console.search_retention_s``. Snapshots are not copied here: a result points at the face crop
the console keeps for the person's face track (``unknowns.py``), so a crop erased there or past
its TTL is gone from search too. Why SQLite and not a Redis index: docs/ARCHITECTURE.md."""

from __future__ import annotations

import calendar
import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from schemas import EventMsg, Message

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, person_id TEXT NOT NULL, camera TEXT NOT NULL, ts REAL NOT NULL,
    name TEXT, identity TEXT, emotion TEXT, action TEXT, emotion_probs TEXT, face_tracks TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS events_person ON events (person_id, ts);
CREATE INDEX IF NOT EXISTS events_camera ON events (camera, ts);
"""
COLUMNS = ("id", "person_id", "camera", "ts", "name", "identity", "emotion", "action", "emotion_probs", "face_tracks")
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


class SearchError(ValueError):
    """A search that cannot be run as asked (a time that is not a time, an empty range...)."""


def parse_time(text: str, field: str) -> float:
    """Seconds since the epoch from epoch seconds or a UTC date/time (``2026-12-02T10:30``, as a datetime-local input sends)."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        for fmt in TIME_FORMATS:
            try:
                return float(calendar.timegm(time.strptime(text, fmt)))
            except ValueError:
                continue
        raise SearchError(f"{field}: {text!r} is not a time (give YYYY-MM-DDTHH:MM in UTC, or seconds since 1970)") from None
    if not math.isfinite(value):
        raise SearchError(f"{field}: {text!r} is not a time")
    return value


@dataclass(frozen=True)
class SearchQuery:
    person: str | None = None
    """A person id, or a name (case-insensitive, any part of it)."""
    emotion: str | None = None
    action: str | None = None
    camera: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 200

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SearchQuery:
        def text(key: str) -> str | None:
            return (query.get(key) or "").strip() or None

        since = parse_time(query["since"], "since") if text("since") else None
        until = parse_time(query["until"], "until") if text("until") else None
        if since is not None and until is not None and until < since:
            raise SearchError("until is before since")
        try:
            limit = int(text("limit") or 200)
        except ValueError:
            raise SearchError(f"limit: {query['limit']!r} is not a number") from None
        if not 1 <= limit <= 1000:
            raise SearchError("limit must be between 1 and 1000")
        return cls(text("person"), text("emotion"), text("action"), text("camera"), since, until, limit)

    def as_form(self) -> dict[str, str]:
        def clock(ts: float | None) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) if ts is not None else ""

        return {"person": self.person or "", "emotion": self.emotion or "", "action": self.action or "",
                "camera": self.camera or "", "since": clock(self.since), "until": clock(self.until)}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SearchStore:
    """Thread-safe: the indexer's stage thread writes, the HTTP threads read (one connection, one lock)."""

    def __init__(self, path: Path | str, retention_s: float, clock: Callable[[], float] = time.time) -> None:
        if str(path) != ":memory:":
            path = Path(path).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.retention_s = retention_s
        self.clock = clock
        self._lock = threading.Lock()

    def add(self, events: list[EventMsg]) -> int:
        """Keep ``events`` (an id seen before is kept once) and drop those past the retention; returns how many are new."""
        rows = [_row(e) for e in events]
        with self._lock:
            before = self.db.total_changes
            self.db.execute("BEGIN")
            self.db.executemany(f"INSERT OR IGNORE INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", rows)
            added = self.db.total_changes - before
            self.db.execute("DELETE FROM events WHERE ts < ?", (self.clock() - self.retention_s,))
            self.db.execute("COMMIT")
        return added

    def search(self, query: SearchQuery) -> list[dict]:
        """Newest first."""
        where, args = [], []
        if query.person:
            where.append("(person_id = ? OR name LIKE ? ESCAPE '\\')")
            args += [query.person, _like(query.person)]
        for column in ("emotion", "action", "camera"):
            if getattr(query, column):
                where.append(f"{column} = ?")
                args.append(getattr(query, column))
        if query.since is not None:
            where.append("ts >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("ts <= ?")
            args.append(query.until)
        sql = f"SELECT {', '.join(COLUMNS)} FROM events {'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY ts DESC LIMIT ?"
        return self._select(sql, [*args, query.limit])

    def person(self, person_id: str, limit: int = 5000) -> list[dict]:
        """One person's events, oldest first."""
        rows = self._select(f"SELECT {', '.join(COLUMNS)} FROM events WHERE person_id = ? ORDER BY ts DESC LIMIT ?", [person_id, limit])
        return rows[::-1]

    def erase(self, tracks: list[tuple[str, str]], person_ids: set[str]) -> tuple[int, set[str]]:
        """Erase every event of the people seen with one of ``tracks`` ((camera, face track): an event
        lists its person's face tracks on its camera) or in ``person_ids``; returns (events erased, the people who had some)."""
        with self._lock:
            self.db.execute("BEGIN")
            people = set(person_ids)
            for camera, track in tracks:
                people.update(p for (p,) in self.db.execute(
                    "SELECT DISTINCT e.person_id FROM events e, json_each(e.face_tracks) t WHERE e.camera = ? AND t.value = ?",
                    (camera, track)))
            had, erased = set(), 0
            for person in sorted(people):
                deleted = self.db.execute("DELETE FROM events WHERE person_id = ?", (person,)).rowcount
                if deleted:
                    had.add(person)
                    erased += deleted
            self.db.execute("COMMIT")
        return erased, had

    def choices(self) -> dict[str, list[str]]:
        """The cameras, emotions and actions the store holds, for the search form."""
        with self._lock:
            return {column: [v for (v,) in self.db.execute(f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL ORDER BY 1")]
                    for column in ("camera", "emotion", "action")}

    def _select(self, sql: str, args: list) -> list[dict]:
        with self._lock:
            rows = self.db.execute(sql, args).fetchall()
        out = []
        for row in rows:
            item = dict(zip(COLUMNS, row))
            item["emotion_probs"] = json.loads(item["emotion_probs"]) if item["emotion_probs"] else None
            item["face_tracks"] = json.loads(item["face_tracks"])
            out.append(item)
        return out

    def close(self) -> None:
        with self._lock:
            self.db.close()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _row(event: EventMsg) -> tuple:
    state = event.state if isinstance(event.state, dict) else {}
    probs = state.get("emotion_probs")
    if not (isinstance(probs, list) and all(isinstance(p, int | float) and math.isfinite(p) for p in probs)):
        probs = None
    tracks = [t for t in state.get("face_tracks") or [] if isinstance(t, str)] if isinstance(state.get("face_tracks"), list) else []
    return (event.id, event.person_id, event.camera, float(event.ts), _text(state.get("name")), _text(state.get("identity")),
            _text(state.get("emotion")), _text(state.get("action")), json.dumps(probs) if probs else None, json.dumps(tracks))


class SearchIndexer:
    """A stage on ``events``: every event into the search store."""

    name = "console-search"

    def __init__(self, store: SearchStore) -> None:
        self.store = store

    def process(self, batch: list[Message]) -> list:
        self.store.add([m for m in batch if isinstance(m, EventMsg)])
        return []
