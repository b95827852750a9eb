"""Face worker metrics (labels: camera and model only; never a track or person id)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_MODEL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

FACES_DETECTED = Counter("vidsentry_faces_detected_total", "Faces found by the detector", ["camera", "model"])
TRACKS_ACTIVE = Gauge("vidsentry_face_tracks_active", "Confirmed face tracks in view", ["camera"])
EMBEDDINGS = Counter("vidsentry_face_embeddings_total", "Face embeddings computed", ["camera", "model"])
EMBEDDINGS_DEFERRED = Counter("vidsentry_face_embeddings_deferred_total",
                              "Embeddings wanted but postponed by the per-batch budget", ["camera"])
IDENTITY_MATCHES = Counter("vidsentry_face_identity_matches_total", "Tracks named as a gallery person", ["camera"])
IDENTITY_UNKNOWNS = Counter("vidsentry_face_identity_unknowns_total", "Tracks declared unknown", ["camera"])
DETECTION_SECONDS = Histogram("vidsentry_face_detection_seconds", "Face detection time per frame", ["model"],
                              buckets=_MODEL_BUCKETS)
EMBEDDING_SECONDS = Histogram("vidsentry_face_embedding_seconds", "Embedding time per call (all faces of a frame)",
                              ["model"], buckets=_MODEL_BUCKETS)
