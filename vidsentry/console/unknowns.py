"""Unknown people: the face embeddings and one crop of each unknown track, kept in Redis for
``console.unknown_ttl_s`` after the track was last seen, grouped into clusters ("unknown-N")
across cameras and days; naming a cluster enrols it in the gallery from its embeddings.

Keys under ``<prefix>:unknown:``: ``track:<camera>|<track>`` (hash: camera, first/last
seen, cluster, embeddings as float32 bytes, the crop JPEG, its face size), ``cluster:<id>``
(set of track keys), ``clusters`` (sorted set of cluster ids by last sighting), ``next``
(the counter behind unknown-N). Tracks the face stage named are kept the same way (no
cluster) so an operator can say "this is not NAME" with their embeddings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import redis

from aggregator.clusters import cluster_name, track_key, unknown_key
from schemas import FacesMsg, Message
from vidsentry.console.clusters import nearest
from vidsentry.runtime import Retryable
from workers.face.embedder import EMBEDDING_DIM, FaceEmbedder
from workers.face.gallery import Gallery, valid_name


class UnknownsError(ValueError):
    """An operator's action on clusters that cannot be done (unknown cluster, bad name...)."""


def crop_embedding(embedder: FaceEmbedder, crop_rgb: np.ndarray) -> np.ndarray:
    """The embedding of an aligned face crop (the face stage's, eyes level): the crop is the box.
    On AT&T/ORL it lands 0.13 from the embedding of the whole photo, with the same
    same-person / other-person distances (EVALUATION.md)."""
    side = crop_rgb.shape[0]
    return embedder.embed(crop_rgb, np.array([[0.0, 0.0, side, side]]))[0]


@dataclass
class Track:
    key: str
    camera: str
    first_seen: float
    last_seen: float
    embeddings: np.ndarray
    cluster: str | None
    name: str | None
    size_px: float

    def to_json(self) -> dict:
        return {"key": self.key, "camera": self.camera, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "cluster": self.cluster, "name": self.name, "embeddings": len(self.embeddings)}


class UnknownStore:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int, threshold: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.r = client
        self.base = unknown_key(prefix)  # the layout the aggregator reads clusters by (aggregator/clusters.py)
        self.ttl_s = ttl_s
        self.threshold = threshold
        self.clock = clock
        self._lock = threading.RLock()

    def _key(self, *parts: str) -> str:
        return ":".join((self.base, *parts))

    # -- what the collector writes -------------------------------------------------------
    def track(self, key: str) -> Track | None:
        raw = self.r.hgetall(self._key("track", key))
        if not raw:
            return None
        get = {k.decode(): v for k, v in raw.items()}
        return Track(key, get["camera"].decode(), float(get["first_seen"]), float(get["last_seen"]),
                     np.frombuffer(get.get("embeddings", b""), np.float32).reshape(-1, EMBEDDING_DIM).copy(),
                     (get.get("cluster") or b"").decode() or None, (get.get("name") or b"").decode() or None,
                     float(get.get("size_px", 0)))

    def sighting(self, key: str, camera: str, ts: float, name: str | None) -> Track | None:
        """Note that the track was seen again; None when the store has no record of it yet."""
        with self._lock:
            track = self.track(key)
            if track is None:
                return None
            pipe = self.r.pipeline(transaction=False)
            pipe.hset(self._key("track", key), mapping={"last_seen": max(ts, track.last_seen)})
            self._touch(pipe, key, track.cluster, max(ts, track.last_seen))
            pipe.execute()
            track.last_seen = max(ts, track.last_seen)
            return track

    def add_sample(self, key: str, camera: str, ts: float, embedding: np.ndarray, crop_jpeg: bytes, size_px: float,
                   name: str | None) -> Track:
        """Store one more embedding of a track (the first places it in a cluster unless it is named)."""
        with self._lock:
            track = self.track(key)
            pipe = self.r.pipeline(transaction=True)
            hkey = self._key("track", key)
            if track is None:
                cluster = None if name else self._assign(embedding[None, :])
                track = Track(key, camera, ts, ts, embedding[None, :].astype(np.float32), cluster, name, size_px)
                pipe.hset(hkey, mapping={"camera": camera, "first_seen": ts, "last_seen": ts, "cluster": cluster or "",
                                         "name": name or "", "embeddings": track.embeddings.tobytes(),
                                         "crop": crop_jpeg, "size_px": size_px})
            else:
                track.embeddings = np.vstack([track.embeddings, embedding[None, :]]).astype(np.float32)
                track.last_seen = max(ts, track.last_seen)
                mapping = {"embeddings": track.embeddings.tobytes(), "last_seen": track.last_seen}
                if size_px > track.size_px:
                    mapping.update(crop=crop_jpeg, size_px=size_px)
                    track.size_px = size_px
                pipe.hset(hkey, mapping=mapping)
            self._touch(pipe, key, track.cluster, track.last_seen)
            pipe.execute()
            return track

    def _touch(self, pipe, key: str, cluster: str | None, ts: float) -> None:
        pipe.expire(self._key("track", key), self.ttl_s)
        if cluster:
            pipe.sadd(self._key("cluster", cluster), key)
            pipe.expire(self._key("cluster", cluster), self.ttl_s)
            pipe.zadd(self._key("clusters"), {cluster: ts})
        else:
            pipe.zadd(self._key("named"), {key: ts})

    def _assign(self, embeddings: np.ndarray) -> str:
        best, distance = nearest(embeddings, {c: self.cluster_embeddings(c) for c in self.cluster_ids()})
        if best is not None and distance <= self.threshold:
            return best
        return cluster_name(int(self.r.incr(self._key('next'))))

    # -- what the console shows -----------------------------------------------------------
    def cluster_ids(self) -> list[str]:
        cutoff = self.clock() - self.ttl_s
        self.r.zremrangebyscore(self._key("clusters"), "-inf", cutoff)
        return [c.decode() for c in self.r.zrevrange(self._key("clusters"), 0, -1)]

    def cluster_tracks(self, cluster: str) -> list[Track]:
        tracks = []
        for key in sorted(k.decode() for k in self.r.smembers(self._key("cluster", cluster))):
            track = self.track(key)
            if track is None:  # expired
                self.r.srem(self._key("cluster", cluster), key)
            elif track.cluster == cluster:
                tracks.append(track)
        return tracks

    def cluster_embeddings(self, cluster: str) -> np.ndarray:
        tracks = self.cluster_tracks(cluster)
        return np.vstack([t.embeddings for t in tracks]) if tracks else np.zeros((0, EMBEDDING_DIM), np.float32)

    def clusters(self) -> list[dict]:
        rows = []
        for cluster in self.cluster_ids():
            tracks = self.cluster_tracks(cluster)
            if not tracks:
                self.r.zrem(self._key("clusters"), cluster)
                continue
            days = sorted({time.strftime("%Y-%m-%d", time.gmtime(t.first_seen)) for t in tracks})
            rows.append({"cluster": cluster, "sightings": len(tracks), "cameras": sorted({t.camera for t in tracks}),
                         "days": days, "first_seen": min(t.first_seen for t in tracks),
                         "last_seen": max(t.last_seen for t in tracks), "tracks": [t.to_json() for t in tracks]})
        return rows

    def named_tracks(self, limit: int = 50) -> list[dict]:
        self.r.zremrangebyscore(self._key("named"), "-inf", self.clock() - self.ttl_s)
        rows = []
        for key in self.r.zrevrange(self._key("named"), 0, limit - 1):
            track = self.track(key.decode())
            if track is not None and track.name:
                rows.append(track.to_json())
        return rows

    def cluster_of(self, camera: str, track_id: str) -> str | None:
        cluster = self.r.hget(self._key("track", track_key(camera, track_id)), "cluster")
        return cluster.decode() if cluster else None

    def crop(self, key: str) -> bytes | None:
        return self.r.hget(self._key("track", key), "crop")

    def with_crop(self, keys: list[str]) -> set[str]:
        """Those of the track ``keys`` whose crop is still kept (not expired, not erased)."""
        pipe = self.r.pipeline(transaction=False)
        for key in keys:
            pipe.hexists(self._key("track", key), "crop")
        return {key for key, kept in zip(keys, pipe.execute()) if kept}

    # -- what the operator does -----------------------------------------------------------
    def name(self, cluster: str, name: str, gallery: Gallery) -> str:
        """Enrol the cluster's embeddings as ``name`` and forget the cluster (its faces now live in the gallery)."""
        try:
            name = valid_name(name)
        except ValueError as exc:
            raise UnknownsError(str(exc)) from None
        with self._lock:
            embeddings = self.cluster_embeddings(cluster)
            if len(embeddings) == 0:
                raise UnknownsError(f"no cluster {cluster}")
            gallery.add(name, embeddings)
            self.delete(cluster)
        return name

    def reject(self, key: str, gallery: Gallery) -> str:
        """"This is not NAME": the named track's embeddings become rejects of NAME, and the track an unknown one."""
        with self._lock:
            track = self.track(key)
            if track is None or not track.name:
                raise UnknownsError(f"no named face {key}")
            gallery.reject(track.name, track.embeddings)
            cluster = self._assign(track.embeddings)
            pipe = self.r.pipeline(transaction=True)
            pipe.hset(self._key("track", key), mapping={"cluster": cluster, "name": ""})
            pipe.zrem(self._key("named"), key)
            self._touch(pipe, key, cluster, track.last_seen)
            pipe.execute()
            return track.name

    def merge(self, clusters: list[str]) -> str:
        """Fold every cluster into the first."""
        if len(clusters) < 2:
            raise UnknownsError("pick at least two clusters to merge")
        target = clusters[0]
        with self._lock:
            if not self.cluster_tracks(target):
                raise UnknownsError(f"no cluster {target}")
            for other in clusters[1:]:
                tracks = self.cluster_tracks(other)
                if not tracks:
                    raise UnknownsError(f"no cluster {other}")
                self._move(tracks, target)
                self.r.delete(self._key("cluster", other))
                self.r.zrem(self._key("clusters"), other)
        return target

    def split(self, cluster: str, track_keys: list[str]) -> str:
        """Move the given tracks of ``cluster`` into a new cluster."""
        with self._lock:
            tracks = {t.key: t for t in self.cluster_tracks(cluster)}
            moving = [tracks[k] for k in track_keys if k in tracks]
            if not moving or len(moving) != len(set(track_keys)):
                raise UnknownsError(f"pick sightings of {cluster} to split off")
            if len(moving) == len(tracks):
                raise UnknownsError("leave at least one sighting in the cluster")
            target = cluster_name(int(self.r.incr(self._key('next'))))
            self._move(moving, target)
        return target

    def delete(self, cluster: str) -> list[str]:
        """Erase a cluster: its tracks' embeddings and crops, and every key naming it; returns its track keys
        (``camera|track``; camera ids hold no ``|``)."""
        with self._lock:
            keys = sorted(k.decode() for k in self.r.smembers(self._key("cluster", cluster)))
            pipe = self.r.pipeline(transaction=True)
            for key in keys:
                pipe.delete(self._key("track", key))
            if keys:
                pipe.zrem(self._key("named"), *keys)
            pipe.delete(self._key("cluster", cluster))
            pipe.zrem(self._key("clusters"), cluster)
            pipe.execute()
            return keys

    def _move(self, tracks: list[Track], target: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        for track in tracks:
            if track.cluster:
                pipe.srem(self._key("cluster", track.cluster), track.key)
            pipe.hset(self._key("track", track.key), "cluster", target)
            self._touch(pipe, track.key, target, track.last_seen)
        pipe.execute()


class UnknownCollector:
    """A stage on ``faces``: embeds the crops of decided tracks (a few per track) into the store."""

    name = "console-unknowns"

    def __init__(self, store: UnknownStore, embedder: FaceEmbedder, per_track: int = 3, gap_frames: int = 5) -> None:
        self.store = store
        self.embedder = embedder
        self.per_track = per_track
        self.gap_frames = gap_frames
        self._last: dict[str, tuple[int, int]] = {}
        """track key -> (embeddings so far, seq of the last one), for the tracks of this process's life."""

    def process(self, batch: list[Message]) -> list:
        try:
            for message in batch:
                if isinstance(message, FacesMsg):
                    self._faces(message)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise Retryable(f"redis unavailable: {exc}") from exc
        return []

    def _faces(self, message: FacesMsg) -> None:
        for face in message.faces:
            status = face.identity.status
            if status == "pending" or face.crop is None:
                continue
            key = track_key(message.camera, face.track_id)
            name = face.identity.name if status == "known" else None
            count, last_seq = self._last.get(key, (0, -10**9))
            if message.seq - last_seq < self.gap_frames:
                continue
            if count >= self.per_track:
                self.store.sighting(key, message.camera, message.ts_capture, name)
                self._last[key] = (count, message.seq)
                continue
            crop = cv2.imdecode(np.frombuffer(face.crop, np.uint8), cv2.IMREAD_COLOR)
            if crop is None:
                continue
            embedding = crop_embedding(self.embedder, cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            size = face.quality.size_px if face.quality is not None else float(face.box[2] - face.box[0])
            self.store.add_sample(key, message.camera, message.ts_capture, embedding, face.crop, size, name)
            self._last[key] = (count + 1, message.seq)
            if len(self._last) > 100_000:
                self._last.pop(next(iter(self._last)))
