"""Grouping unknown face tracks into "unknown-N" people, and measuring how well it groups.

A track joins the cluster of its closest already-clustered track when that distance is
within the threshold (single linkage, online: tracks are taken as they come, as the console
sees them); otherwise it starts a new cluster. Distances are between a track's embeddings
(the closest pair), Euclidean, as the gallery uses them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workers.face.embedder import EMBEDDING_DIM


def track_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The closest pair distance between two tracks' (n, 128) embeddings."""
    a, b = np.asarray(a, np.float32).reshape(-1, EMBEDDING_DIM), np.asarray(b, np.float32).reshape(-1, EMBEDDING_DIM)
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min())


def nearest(embeddings: np.ndarray, others: dict[str, np.ndarray]) -> tuple[str | None, float]:
    """The key of ``others`` closest to ``embeddings``, and its distance (None, inf when empty)."""
    best, best_d = None, float("inf")
    for key, emb in others.items():
        if len(emb) == 0:
            continue
        d = track_distance(embeddings, emb)
        if d < best_d:
            best, best_d = key, d
    return best, best_d


def cluster_online(tracks: Sequence[np.ndarray], threshold: float) -> list[int]:
    """Cluster labels for tracks taken in order, as the console assigns them."""
    labels: list[int] = []
    seen: dict[str, np.ndarray] = {}
    for i, emb in enumerate(tracks):
        key, d = nearest(emb, seen)
        labels.append(labels[int(key)] if key is not None and d <= threshold else (max(labels) + 1 if labels else 0))
        seen[str(i)] = np.asarray(emb, np.float32)
    return labels


@dataclass(frozen=True)
class ClusterScores:
    purity: float
    """Share of tracks whose cluster's majority person is their own person."""
    completeness: float
    """Share of tracks that sit in their person's largest cluster (1.0: nobody is split)."""
    clusters: int
    people: int
    singletons: int


def score_clusters(labels: Sequence[int], truth: Sequence[str]) -> ClusterScores:
    by_cluster: dict[int, Counter] = {}
    by_person: dict[str, Counter] = {}
    for label, person in zip(labels, truth, strict=True):
        by_cluster.setdefault(label, Counter())[person] += 1
        by_person.setdefault(person, Counter())[label] += 1
    n = len(labels)
    purity = sum(c.most_common(1)[0][1] for c in by_cluster.values()) / n
    completeness = sum(c.most_common(1)[0][1] for c in by_person.values()) / n
    return ClusterScores(purity, completeness, len(by_cluster), len(by_person),
                         sum(1 for c in by_cluster.values() if sum(c.values()) == 1))
