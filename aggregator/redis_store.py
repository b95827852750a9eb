"""The state store on Redis: person hashes with a TTL, an index of who was seen when,
incident keys (so a restart neither forgets nor re-raises an incident), and message-id
claims for idempotency."""

from __future__ import annotations

import json

import redis

from aggregator.state import Incident, PersonState
from vidsentry.runtime import Retryable


class RedisStore:
    def __init__(self, client: redis.Redis, prefix: str = "vidsentry", person_ttl_s: int = 3600,
                 seen_ttl_s: int = 86400) -> None:
        self.r = client
        self.prefix = prefix
        self.person_ttl_s = person_ttl_s
        self.seen_ttl_s = seen_ttl_s

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def claim(self, message_ids: list[str]) -> list[bool]:
        with _retryable():
            pipe = self.r.pipeline(transaction=False)
            for mid in message_ids:
                pipe.set(self.key("seen", mid), 1, nx=True, ex=self.seen_ttl_s)
            return [bool(ok) for ok in pipe.execute()]

    def save_persons(self, persons: list[PersonState]) -> None:
        if not persons:
            return
        with _retryable():
            pipe = self.r.pipeline(transaction=False)
            for person in persons:
                key = self.key("person", person.person_id)
                pipe.hset(key, mapping={k: json.dumps(v) for k, v in person.to_json().items()})
                pipe.expire(key, self.person_ttl_s)
                pipe.zadd(self.key("persons"), {person.person_id: person.last_seen})
            pipe.execute()

    def delete_person(self, person_id: str) -> None:
        with _retryable():
            self.r.delete(self.key("person", person_id))
            self.r.zrem(self.key("persons"), person_id)

    def load_persons(self) -> list[PersonState]:
        with _retryable():
            persons = []
            for person_id in self.r.zrange(self.key("persons"), 0, -1):
                raw = self.r.hgetall(self.key("person", person_id.decode()))
                if raw:
                    persons.append(PersonState.from_json({k.decode(): json.loads(v) for k, v in raw.items()}))
                else:
                    self.r.zrem(self.key("persons"), person_id)
            return persons

    def save_incident(self, key: str, incident: Incident, ttl_s: float) -> None:
        with _retryable():
            self.r.set(self.key("incident", key), json.dumps(incident.to_json()), ex=max(1, int(ttl_s)))

    def load_incidents(self) -> dict[str, Incident]:
        with _retryable():
            found = {}
            prefix = self.key("incident", "")
            for key in self.r.scan_iter(match=prefix + "*", count=500):
                raw = self.r.get(key)
                if raw:
                    found[key.decode()[len(prefix):]] = Incident.from_json(json.loads(raw))
            return found


class _retryable:  # noqa: N801 (used as a statement: `with _retryable():`)
    """Turn Redis being unreachable into Retryable, so the runtime retries the batch."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is not None and isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
            raise Retryable(f"redis unavailable: {exc}") from exc
        return False
