"""Which unknown-people cluster ("unknown-N") an unknown face track belongs to.

The console's UnknownCollector groups the unknown face tracks of every camera into clusters
in Redis (vidsentry/console/unknowns.py; the key layout is defined here, so both sides read
and write the same keys). The aggregator asks for a track's cluster through ``ClusterLookup``
and, once it has one, keeps the person under the cluster's id: one stranger on two cameras is
one person record, with one dwell and one ``unknown-loitering`` incident.

``TrackClusters`` caches the answers per track: a track is asked about again only
``refresh_s`` of capture time after the last question (so the collector, a separate consumer,
may cluster it a little later, and an operator's merge or split is noticed), never per face per
frame.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Protocol

import redis

from vidsentry.runtime import Retryable

CLUSTER_PATTERN = re.compile(r"unknown-\d+")


def cluster_name(number: int) -> str:
    return f"unknown-{number}"


def is_cluster(person_id: str) -> bool:
    return CLUSTER_PATTERN.fullmatch(person_id) is not None


def track_key(camera: str, track_id: str) -> str:
    """A face track across the unknown-people keys: ``<prefix>:unknown:track:<track_key>``."""
    return f"{camera}|{track_id}"


def unknown_key(prefix: str, *parts: str) -> str:
    return ":".join((prefix, "unknown", *parts))


class ClusterLookup(Protocol):
    def cluster_of(self, camera: str, track_id: str) -> str | None:
        """The track's cluster, or None when it has none (not clustered yet, named, erased, expired)."""


class RedisClusters:
    """The console's clusters as it keeps them in Redis under ``prefix`` (aggregator.redis_prefix)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.r = client
        self.prefix = prefix

    def cluster_of(self, camera: str, track_id: str) -> str | None:
        try:
            cluster = self.r.hget(unknown_key(self.prefix, "track", track_key(camera, track_id)), "cluster")
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise Retryable(f"redis unavailable: {exc}") from exc
        return cluster.decode() if cluster else None


class TrackClusters:
    """Per-track cache over a ``ClusterLookup`` (bounded: the least recently asked tracks go first)."""

    def __init__(self, lookup: ClusterLookup, refresh_s: float = 5.0, max_tracks: int = 50_000) -> None:
        self.lookup = lookup
        self.refresh_s = refresh_s
        self.max_tracks = max_tracks
        self._known: OrderedDict[tuple[str, str], tuple[str | None, float]] = OrderedDict()

    def cluster(self, camera: str, track_id: str, ts: float) -> str | None:
        """The track's cluster as of capture time ``ts``: the lookup is asked once per ``refresh_s``."""
        key = (camera, track_id)
        cached = self._known.get(key)
        if cached is not None and 0 <= ts - cached[1] < self.refresh_s:
            return cached[0]
        cluster = self.lookup.cluster_of(camera, track_id)
        self._known[key] = (cluster, ts)
        self._known.move_to_end(key)
        while len(self._known) > self.max_tracks:
            self._known.popitem(last=False)
        return cluster

    def others_in(self, cluster: str, camera: str, track_id: str, ts: float) -> bool:
        """Whether another live track (asked about within two refresh periods) was last found in
        ``cluster``: then this track was split off it; otherwise the cluster was merged away (or
        every track of it moved, which is the same)."""
        return any(c == cluster and key != (camera, track_id) and ts - checked <= 2 * self.refresh_s
                   for key, (c, checked) in self._known.items())
