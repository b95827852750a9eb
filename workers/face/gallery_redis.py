"""The gallery in Redis (a deployment): shared by every face worker and the enrolment CLI.

Keys under ``prefix``: ``names`` (hash name -> person id), ``emb:<id>`` and ``rej:<id>``
(lists of 512-byte float32 embeddings), ``version`` (a counter bumped by every change, so
workers notice changes with one GET). Changes are MULTI/EXEC transactions; a snapshot is
read between two equal ``version`` values, so it never mixes two states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import redis

from vidsentry.config.models import RedisConfig
from vidsentry.redis_client import redis_client, redis_location
from workers.face.embedder import EMBEDDING_DIM
from workers.face.errors import GalleryError, UnknownPersonError
from workers.face.gallery import Person, as_embeddings, clean_name, empty_embeddings, new_person_id, valid_name

T = TypeVar("T")
_SNAPSHOT_ATTEMPTS = 10


class RedisGallery:
    def __init__(self, client: redis.Redis, prefix: str = "vidsentry:gallery", where: str = "redis") -> None:
        self.client = client
        self.prefix = prefix
        self.where = where

    @classmethod
    def from_config(cls, config: RedisConfig, prefix: str = "vidsentry:gallery") -> RedisGallery:
        client = redis_client(config, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix, redis_location(config))

    @classmethod
    def from_url(cls, url: str, prefix: str = "vidsentry:gallery") -> RedisGallery:
        return cls.from_config(RedisConfig(url=url), prefix)

    def people(self) -> list[Person]:
        return self._call(self._snapshot)

    def version(self) -> str:
        return self._call(lambda: (self.client.get(self._key("version")) or b"0").decode())

    def add(self, name: str, embeddings: np.ndarray) -> Person:
        name, embeddings = valid_name(name), as_embeddings(embeddings)

        def change() -> Person:
            self.client.hsetnx(self._key("names"), name, new_person_id())
            person_id = self.client.hget(self._key("names"), name).decode()
            with self.client.pipeline(transaction=True) as tx:
                tx.rpush(self._key("emb", person_id), *[row.tobytes() for row in embeddings])
                tx.incr(self._key("version"))
                tx.execute()
            return self._person(name, person_id)

        return self._call(change)

    def reject(self, name: str, embeddings: np.ndarray) -> Person:
        name, embeddings = clean_name(name), as_embeddings(embeddings)

        def change() -> Person:
            person_id = self._require(name)
            with self.client.pipeline(transaction=True) as tx:
                tx.rpush(self._key("rej", person_id), *[row.tobytes() for row in embeddings])
                tx.incr(self._key("version"))
                tx.execute()
            return self._person(name, person_id)

        return self._call(change)

    def remove(self, name: str) -> Person:
        name = clean_name(name)

        def change() -> Person:
            person_id = self._require(name)
            person = self._person(name, person_id)
            with self.client.pipeline(transaction=True) as tx:
                tx.hdel(self._key("names"), name)
                tx.delete(self._key("emb", person_id), self._key("rej", person_id))
                tx.incr(self._key("version"))
                tx.execute()
            return person

        return self._call(change)

    def _snapshot(self) -> list[Person]:
        for _ in range(_SNAPSHOT_ATTEMPTS):
            before = self.client.get(self._key("version"))
            names = {k.decode(): v.decode() for k, v in self.client.hgetall(self._key("names")).items()}
            with self.client.pipeline(transaction=True) as tx:
                for person_id in names.values():
                    tx.lrange(self._key("emb", person_id), 0, -1)
                    tx.lrange(self._key("rej", person_id), 0, -1)
                tx.get(self._key("version"))
                *lists, after = tx.execute()
            if before == after:
                return [Person(person_id, name, _array(lists[2 * i]), _array(lists[2 * i + 1]))
                        for i, (name, person_id) in enumerate(names.items())]
        raise GalleryError(f"the gallery at {self.where} kept changing while being read; try again")

    def _person(self, name: str, person_id: str) -> Person:
        with self.client.pipeline(transaction=True) as tx:
            tx.lrange(self._key("emb", person_id), 0, -1)
            tx.lrange(self._key("rej", person_id), 0, -1)
            embeddings, rejected = tx.execute()
        return Person(person_id, name, _array(embeddings), _array(rejected))

    def _require(self, name: str) -> str:
        person_id = self.client.hget(self._key("names"), name)
        if person_id is None:
            known = [k.decode() for k in self.client.hkeys(self._key("names"))]
            raise UnknownPersonError(name, known)
        return person_id.decode()

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except redis.RedisError as exc:
            raise GalleryError(f"the gallery at {self.where} is unreachable or failed: {exc}") from None


def _array(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return empty_embeddings()
    bad = [len(b) for b in blobs if len(b) != EMBEDDING_DIM * 4]
    if bad:
        raise GalleryError(f"gallery entry of {bad[0]} bytes is not a {EMBEDDING_DIM}-d float32 embedding")
    return np.frombuffer(b"".join(blobs), np.float32).reshape(-1, EMBEDDING_DIM).copy()
