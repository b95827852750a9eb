"""The emotion worker's metrics (docs/STYLE.md §5): base units, bounded labels, never a track or person id."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

FACES_CLASSIFIED = Counter("vidsentry_emotion_faces_classified_total", "Faces the emotion model classified",
                           ["camera", "model"])
BAD_CROPS = Counter("vidsentry_emotion_bad_crops_total", "Faces skipped because their crop was missing, "
                    "undecodable or too small", ["camera", "reason"])
TOP_LABELS = Counter("vidsentry_emotion_labels_total", "Top emotion label of each classified face", ["model", "label"])
MODEL_BATCH_FACES = Histogram("vidsentry_emotion_model_batch_faces", "Faces per emotion model call", ["model"],
                              buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
INFERENCE_SECONDS = Histogram("vidsentry_emotion_inference_seconds", "Time of one emotion model call "
                              "(preprocessing included)", ["model"],
                              buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
