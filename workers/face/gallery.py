"""The gallery of known people: name -> face embeddings, plus faces recorded as "not this
person". One interface, two stores: a JSON file in embedded mode (``gallery_file``) and
Redis in a deployment (``gallery_redis``). Only embeddings are stored, never photos.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidsentry.config.models import RedisConfig
from workers.face.config import FaceConfig
from workers.face.embedder import EMBEDDING_DIM
from workers.face.errors import InvalidNameError


@dataclass
class Person:
    person_id: str
    name: str
    embeddings: np.ndarray
    """(n, 128) float32: enrolled faces of this person."""
    rejected: np.ndarray
    """(m, 128) float32: faces recorded as *not* this person (``gallery reject``)."""


class Gallery(Protocol):
    def people(self) -> list[Person]:
        """A consistent snapshot of everyone enrolled."""

    def version(self) -> str:
        """A cheap token that changes whenever the content changes (workers poll it)."""

    def add(self, name: str, embeddings: np.ndarray) -> Person:
        """Enrol more faces of ``name``, creating the person on first use."""

    def reject(self, name: str, embeddings: np.ndarray) -> Person:
        """Record faces that are not ``name``; raises UnknownPersonError for an unknown name."""

    def remove(self, name: str) -> Person:
        """Forget ``name`` and all their embeddings; raises UnknownPersonError for an unknown name."""


def new_person_id() -> str:
    return f"person-{uuid.uuid4().hex[:12]}"


NAME_MAX_CHARS = 64
NAME_PUNCTUATION = frozenset(" .'\u2019-_")
"""Besides letters (any script, with their combining marks) and digits: space, full stop,
apostrophe (straight or typographic), hyphen and underscore."""


def clean_name(name: str) -> str:
    """``name`` with runs of whitespace made one space; for looking a person up (a name
    enrolled before names were validated can still be rejected or removed)."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidNameError("a person's name cannot be empty")
    if len(cleaned) > 200:
        raise InvalidNameError(f"a person's name is at most 200 characters (got {len(cleaned)})")
    return cleaned


def valid_name(name: str) -> str:
    """The cleaned ``name`` if a new person may be enrolled under it; InvalidNameError otherwise.

    A name is 1 to 64 characters of letters (any script), digits, spaces and ``. ' ’ - _``,
    with at least one letter or digit. Names end up in alerts, the CLI and report.html, so
    markup, quotes, slashes and control characters are refused here as well as escaped there."""
    cleaned = clean_name(name)
    if len(cleaned) > NAME_MAX_CHARS:
        raise InvalidNameError(f"a person's name is at most {NAME_MAX_CHARS} characters (got {len(cleaned)}): {cleaned[:20]!r}...")
    bad = sorted({c for c in cleaned if not (_alphanumeric(c) or c in NAME_PUNCTUATION)})
    if bad:
        raise InvalidNameError(f"invalid person name {cleaned!r}: {' '.join(repr(c) for c in bad)} not allowed; use letters, "
                               f"digits, spaces and . ' - _ (at most {NAME_MAX_CHARS} characters)")
    if not any(_alphanumeric(c) and not unicodedata.category(c).startswith("M") for c in cleaned):
        raise InvalidNameError(f"invalid person name {cleaned!r}: it needs at least one letter or digit")
    return cleaned


def _alphanumeric(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd"


def as_embeddings(embeddings: np.ndarray) -> np.ndarray:
    """Validate ``(n, 128)`` finite embeddings, n >= 1, as float32."""
    array = np.asarray(embeddings, np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != EMBEDDING_DIM or len(array) == 0:
        raise ValueError(f"expected embeddings of shape (n, {EMBEDDING_DIM}), got {np.shape(embeddings)}")
    if not np.isfinite(array).all():
        raise ValueError("embeddings contain NaN or infinity")
    return array


def empty_embeddings() -> np.ndarray:
    return np.zeros((0, EMBEDDING_DIM), np.float32)


def open_gallery(config: FaceConfig, redis: RedisConfig | None = None) -> Gallery:
    """The store ``config.gallery_store`` names; ``auto`` picks Redis when ``redis`` has a URL."""
    redis_url = redis.url if redis is not None else None
    use_redis = config.gallery_store == "redis" or (config.gallery_store == "auto" and redis_url)
    if use_redis:
        if redis is None or not redis_url:
            raise ValueError("face.gallery_store is redis but no Redis URL is configured (set redis.url or --redis)")
        from workers.face.gallery_redis import RedisGallery

        return RedisGallery.from_config(redis, config.gallery_redis_prefix)
    from workers.face.gallery_file import FileGallery

    return FileGallery(config.gallery_path)
