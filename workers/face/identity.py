"""Who is this track? Matching embeddings against the gallery, and deciding per track.

Guards against a false name, in order:

* only good samples are embedded at all (``quality``);
* a sample matches a person only within ``match_threshold`` *and* with ``match_margin``
  to the second-closest person; beyond the threshold it votes "nobody", within it but too
  close to call (ambiguous) it abstains;
* a sample closer to one of a person's rejected faces (``gallery reject``) than to any of
  their enrolled faces can never match that person;
* a track is named only when at least ``min_agreeing_samples`` samples vote for the same
  person and they outnumber all other votes; the same rule declares it ``unknown``.
  Until then it stays ``pending``, with the reason. (A still photo is its own scene and
  gives one sample: it needs one vote, under the same threshold and margin.)

A track's samples are kept (a few 128-d vectors), so a gallery change re-decides live
tracks at once, without embedding anything again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from schemas import Identity
from workers.face.config import FaceConfig
from workers.face.embedder import EMBEDDING_DIM
from workers.face.gallery import Person


@dataclass(frozen=True)
class Match:
    person_id: str | None
    """The matched person, or None: no one close enough, ambiguous, or barred by a reject."""
    name: str | None
    distance: float | None
    """Distance to the closest eligible person (None with an empty gallery)."""
    margin: float | None
    """How much farther the second-closest eligible person is (None with fewer than two)."""
    ambiguous: bool = False
    """Within the threshold of someone, but the second-closest is within the margin."""


class GalleryIndex:
    """An immutable snapshot of the gallery, arranged for fast nearest-person search."""

    def __init__(self, people: list[Person]) -> None:
        self.people = [p for p in people if len(p.embeddings)]
        self._enrolled = _stack([p.embeddings for p in self.people])
        self._enrolled_owner = np.concatenate([np.full(len(p.embeddings), i) for i, p in enumerate(self.people)]
                                              ) if self.people else np.zeros(0, int)
        self._rejected = _stack([p.rejected for p in self.people])
        self._rejected_owner = np.concatenate([np.full(len(p.rejected), i) for i, p in enumerate(self.people)]
                                              ) if self.people else np.zeros(0, int)

    def __len__(self) -> int:
        return len(self.people)

    def distances(self, embedding: np.ndarray) -> np.ndarray:
        """Distance to each person's closest enrolled face, +inf for a person barred by a reject."""
        nearest = _nearest_per_owner(embedding, self._enrolled, self._enrolled_owner, len(self.people))
        nearest_rejected = _nearest_per_owner(embedding, self._rejected, self._rejected_owner, len(self.people))
        return np.where(nearest_rejected < nearest, np.inf, nearest)

    def match(self, embedding: np.ndarray, threshold: float, margin: float) -> Match:
        if not self.people:
            return Match(None, None, None, None)
        distances = self.distances(np.asarray(embedding, np.float32))
        order = np.argsort(distances)
        best = float(distances[order[0]])
        second = float(distances[order[1]]) if len(order) > 1 else np.inf
        best_distance = best if np.isfinite(best) else None
        gap = second - best if np.isfinite(second) and np.isfinite(best) else None
        if best_distance is None or best > threshold:
            return Match(None, None, best_distance, gap)
        if gap is not None and gap < margin:
            return Match(None, None, best_distance, gap, ambiguous=True)
        person = self.people[int(order[0])]
        return Match(person.person_id, person.name, best, gap)


@dataclass
class TrackIdentity:
    """The identity evidence of one track: its samples and the decision they support."""

    track_id: str
    samples: list[np.ndarray] = field(default_factory=list)
    last_sample_frame: int | None = None
    best_size_px: float = 0.0
    identity: Identity = field(default_factory=lambda: Identity("pending"))
    min_agreeing: int | None = None
    """Votes needed to decide, when not ``min_agreeing_samples`` (1 for the face of a still photo)."""

    @property
    def anonymous_id(self) -> str:
        """A stable id for an unknown face, so it can be followed while its track lives."""
        return "anon-" + hashlib.sha1(self.track_id.encode()).hexdigest()[:12]

    @property
    def decided(self) -> bool:
        return self.identity.status != "pending"

    def wants_sample(self, frame_no: int, size_px: float, config: FaceConfig) -> bool:
        """Embed now? Soon and often while undecided, then rarely: after ``refresh_interval_frames``
        or when the face is much larger than ever before; never beyond the per-track cap."""
        if len(self.samples) >= config.max_embeddings_per_track:
            return False
        if self.last_sample_frame is None:
            return True
        since = frame_no - self.last_sample_frame
        if since < config.sample_interval_frames:
            return False
        if not self.decided:
            return True
        return since >= config.refresh_interval_frames or size_px >= config.refresh_quality_gain * self.best_size_px

    def add_sample(self, embedding: np.ndarray, frame_no: int, size_px: float) -> None:
        self.samples.append(np.asarray(embedding, np.float32))
        self.last_sample_frame = frame_no
        self.best_size_px = max(self.best_size_px, size_px)

    def decide(self, index: GalleryIndex, config: FaceConfig, min_agreeing: int | None = None) -> Identity:
        self.identity = decide(self.samples, index, config, self.anonymous_id, min_agreeing)
        return self.identity


def decide(samples: list[np.ndarray], index: GalleryIndex, config: FaceConfig, anonymous_id: str,
           min_agreeing: int | None = None) -> Identity:
    """The identity a track's samples support (see the module docstring for the rule);
    ``min_agreeing`` overrides ``config.min_agreeing_samples`` (1 for a still photo)."""
    needed = config.min_agreeing_samples if min_agreeing is None else min_agreeing
    all_matches = [index.match(s, config.match_threshold, config.match_margin) for s in samples]
    matches = [m for m in all_matches if not m.ambiguous]
    if not matches:
        if all_matches:
            return Identity("pending", reason=_ambiguous_reason(all_matches[-1], config))
        return Identity("pending")
    votes = Counter(m.person_id for m in matches)
    winner, count = votes.most_common(1)[0]
    if count <= len(matches) - count:
        return Identity("pending", reason=f"samples disagree ({count} of {len(matches)} agree)")
    if count < needed:
        return Identity("pending", reason=f"{count} of {needed} agreeing samples so far")
    agreeing = [m for m in matches if m.person_id == winner]
    distances = [m.distance for m in agreeing if m.distance is not None]
    distance = round(float(np.mean(distances)), 4) if distances else None
    if winner is None:
        return Identity("unknown", anonymous_id, None, distance)
    return Identity("known", winner, agreeing[-1].name, distance)


def _ambiguous_reason(match: Match, config: FaceConfig) -> str:
    return (f"ambiguous: the two closest people are {match.margin:.2f} apart (margin {config.match_margin})"
            if match.margin is not None else "ambiguous")


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays).astype(np.float32) if arrays else np.zeros((0, EMBEDDING_DIM), np.float32)


def _nearest_per_owner(embedding: np.ndarray, rows: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    nearest = np.full(count, np.inf)
    if len(rows):
        np.minimum.at(nearest, owners, np.linalg.norm(rows - embedding[None, :], axis=1))
    return nearest
