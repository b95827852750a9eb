"""People in view now, as the aggregator keeps them in Redis (the same keys `vidsentry persons` reads)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aggregator.redis_store import RedisStore


def people_in_view(store: RedisStore, within_s: float = 10.0, clock: Callable[[], float] = time.time,
                   cluster_of: Callable[[str, str], str | None] = lambda camera, track: None) -> list[dict]:
    """Everyone seen in the last ``within_s`` seconds (capture time): who, where, how they seem, for how long.
    An unknown face is shown as its cluster ("unknown-N", ``cluster_of(camera, face track)``) once it has one."""
    since = clock() - within_s
    rows = []
    for person in store.load_persons():
        if person.last_seen < since:
            continue
        if person.name:
            who = person.name
        elif person.identity == "unknown":
            who = next((c for c in (cluster_of(person.camera, t) for t in person.face_tracks) if c), "unknown")
        elif person.face_tracks:
            who = "pending"
        else:
            who = "no face seen"
        rows.append({"person_id": person.person_id, "who": who, "identity": person.identity, "camera": person.camera,
                     "cameras": person.cameras, "emotion": person.emotion, "action": person.action,
                     "dwell_s": round(max(0.0, person.last_seen - (person.in_view_since or person.first_seen)), 1),
                     "last_seen": person.last_seen})
    return sorted(rows, key=lambda r: (r["camera"], -r["dwell_s"]))
