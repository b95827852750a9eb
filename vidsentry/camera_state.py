"""Each camera's state as its producer sees it (up, reconnecting, down, ended; measured fps, frames
dropped, reconnects, the last error, redacted), kept in Redis for the console of another process.

Keys: ``<prefix>:camera-state:<camera>`` (JSON, expires ``ttl_s`` after the last refresh, so the
record of a producer that died is gone within seconds) and ``<prefix>:camera-states`` (the set of
camera ids ever reported, expiring a day after the last refresh, so a camera whose record is gone
reads as down rather than vanishing). Each refresh carries a ``beat`` that grows, so a reader tells
a live producer from a stale record on its own clock, whatever the producer's clock says.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Protocol

import redis

from vidsentry.redact import redact_text

STATES = ("up", "reconnecting", "down", "ended")
REFRESH_S = 1.0
"""How often a producer refreshes its cameras' records."""
TTL_S = 5.0
"""A record outlives a few missed refreshes, no more."""
ENDED_TTL_S = 3600.0
"""A camera that ended (a file played to its end) stays so for an hour after its producer left."""
KNOWN_TTL_S = 86400


class CameraStateError(RuntimeError):
    """The state store cannot be written or read now (Redis unreachable)."""


@dataclass(frozen=True)
class CameraStateRecord:
    camera: str
    state: str
    fps: float
    dropped: int
    reconnects: int
    captured: int
    published: int
    error: str | None
    beat: int

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"camera state {self.state!r} is not one of {', '.join(STATES)}")
        if not (isinstance(self.fps, int | float) and math.isfinite(self.fps) and self.fps >= 0):
            raise ValueError(f"fps {self.fps!r} is not a rate")
        for name in ("dropped", "reconnects", "captured", "published", "beat"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} {value!r} is not a count")
        if self.error is not None and not isinstance(self.error, str):
            raise ValueError("error is not text")

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "error": redact_text(self.error) if self.error else None})

    @classmethod
    def from_json(cls, camera: str, raw: bytes | str) -> CameraStateRecord:
        """Raises ValueError for a record that is not one (the reader skips it)."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        fields = {k: data.get(k) for k in cls.__dataclass_fields__}
        fields["camera"] = camera
        return cls(**fields)


class CameraStateWriter(Protocol):
    def write(self, records: list[CameraStateRecord], ttl_s: float) -> None:
        """Raises CameraStateError when the store cannot be reached."""


class RedisCameraStates:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.r = client
        self.prefix = prefix
        self.known_key = f"{prefix}:camera-states"

    def key(self, camera: str) -> str:
        return f"{self.prefix}:camera-state:{camera}"

    def write(self, records: list[CameraStateRecord], ttl_s: float = TTL_S) -> None:
        if not records:
            return
        try:
            pipe = self.r.pipeline(transaction=False)
            for record in records:
                pipe.set(self.key(record.camera), record.to_json(), px=int(ttl_s * 1000))
            pipe.sadd(self.known_key, *[r.camera for r in records])
            pipe.expire(self.known_key, KNOWN_TTL_S)
            pipe.execute()
        except redis.RedisError as exc:
            raise CameraStateError(redact_text(str(exc))) from exc

    def read(self) -> tuple[dict[str, CameraStateRecord], set[str]]:
        """(the records there are, every camera ever reported); a malformed record is left out."""
        try:
            known = sorted(c.decode() for c in self.r.smembers(self.known_key))
            raws = self.r.mget([self.key(c) for c in known]) if known else []
        except redis.RedisError as exc:
            raise CameraStateError(redact_text(str(exc))) from exc
        records = {}
        for camera, raw in zip(known, raws):
            if raw is None:
                continue
            try:
                records[camera] = CameraStateRecord.from_json(camera, raw)
            except (ValueError, TypeError):
                continue
        return records, set(known)


class StaleBeats:
    """Which cameras' records stopped changing for ``down_after_s`` on the reader's clock."""

    def __init__(self, down_after_s: float = TTL_S, clock=time.monotonic) -> None:
        self.down_after_s = down_after_s
        self.clock = clock
        self._seen: dict[str, tuple[int, float]] = {}

    def stale(self, record: CameraStateRecord) -> bool:
        now = self.clock()
        seen = self._seen.get(record.camera)
        if seen is None or seen[0] != record.beat:
            self._seen[record.camera] = (record.beat, now)
            return False
        return now - seen[1] > self.down_after_s
