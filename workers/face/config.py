"""``FaceConfig``: every setting of the face worker and its gallery, with defaults and bounds.

It sits in the config tree as ``Config.face`` (so ``VIDSENTRY_FACE__DETECTOR=...`` works).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vidsentry.image_header import DEFAULT_MAX_PIXELS


class FaceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    detector: Literal["mediapipe-auto", "mediapipe-full", "mediapipe-short", "haar"] = Field(
        "mediapipe-auto", title="Face detector",
        description="mediapipe-auto runs both BlazeFace models and keeps, per face, the one made for its size (full "
                    "range: small, far faces; short range: close-ups, which full range misses); mediapipe-full or "
                    "mediapipe-short alone are cheaper; haar is the slow, noisy baseline kept for comparison. "
                    "Enrolment and still photos always use mediapipe-auto.")
    min_detection_score: float = Field(0.5, ge=0.05, le=1.0, title="Detection threshold",
                                       description="Detections below this confidence are dropped before tracking.")
    max_faces_per_frame: int = Field(32, ge=1, le=512, title="Faces kept per frame",
                                     description="A crowded frame keeps only its largest, most confident faces.")
    max_frame_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=64 * 64, le=1 << 30, title="Largest frame",
                                  description="A frame above this many pixels (width x height, read from its JPEG "
                                              "header before decoding) is dead-lettered with the reason.")

    track_min_hits: int = Field(3, ge=1, le=100, title="Track birth",
                                description="Consecutive detections before a face becomes a track and is published.")
    track_max_misses: int = Field(10, ge=0, le=1000, title="Track death",
                                  description="Frames a track survives without a detection before it ends.")
    track_min_iou: float = Field(0.2, ge=0.01, le=1.0, title="Association overlap",
                                 description="Least overlap between a track's predicted box and a detection to join them.")
    track_max_shift: float = Field(1.0, ge=0.0, le=5.0, title="Association shift",
                                   description="Largest centre shift from the predicted box, in face sizes, that still "
                                               "joins a detection overlapping less than track_min_iou (fast motion, low "
                                               "frame rates).")

    min_face_px: int = Field(40, ge=8, le=1024, title="Smallest usable face",
                             description="Faces smaller than this (shorter side, pixels) are tracked but never identified.")
    min_identity_score: float = Field(0.6, ge=0.0, le=1.0, title="Identity detection threshold",
                                      description="Least detection confidence for a sample to count towards identity, "
                                                  "at enrolment and live alike. Was 0.7, which refused clear close-ups "
                                                  "the full-range model scored 0.66; on the dev photos (AT&T/ORL, "
                                                  "face_recognition examples) every real face scores 0.7 or more with "
                                                  "mediapipe-auto.")
    min_sharpness: float = Field(40.0, ge=0.0, le=100000.0, title="Least sharpness",
                                 description="Least variance of the Laplacian of the aligned gray crop; blurrier "
                                             "samples are not identified.")
    edge_margin_px: int = Field(2, ge=0, le=100, title="Frame edge margin",
                                description="A face whose eyes, nose or mouth come this close to the frame edge, or "
                                            "whose box reaches more than 35% of its side past it, is clipped and "
                                            "not identified (a face without landmarks: its box this close).")
    max_yaw: float = Field(0.45, ge=0.0, le=2.0, title="Most head turn",
                           description="Largest nose offset from the eye midpoint, in eye distances; a more turned "
                                       "(profile) face is not identified.")

    match_threshold: float = Field(0.48, gt=0.0, le=2.0, title="Match distance",
                                   description="Largest embedding distance to a gallery person that counts as a match "
                                               "(same person ~0.2-0.5, different ~0.55-0.9). Calibrated with `vidsentry "
                                               "evaluate identity` on AT&T/ORL faces (40 people, every other one a "
                                               "stranger) and face_recognition's example photos: the largest threshold "
                                               "that names at most 1 in 200 stranger photos with 1 or 3 enrolment "
                                               "photos (with 1: 98.3% of enrolled people named, no stranger). dlib's "
                                               "0.6 is for one-to-one LFW pairs: against a 20-person gallery it named "
                                               "10% of the stranger photos (22.5% with 3 enrolment photos). See "
                                               "EVALUATION.md.")
    match_margin: float = Field(0.05, ge=0.0, le=1.0, title="Match margin",
                                description="The second-closest person must be at least this much farther than the "
                                            "closest, or the sample is ambiguous (it abstains, and the face stays "
                                            "pending). Calibrated with match_threshold on AT&T/ORL: 0.08 cost 1 "
                                            "point of correct names there and kept out no stranger that 0.05 let in.")
    min_agreeing_samples: int = Field(2, ge=2, le=20, title="Samples for a decision",
                                      description="Good samples that must agree (and outnumber the rest) before a "
                                                  "track is named or declared unknown.")
    sample_interval_frames: int = Field(3, ge=1, le=1000, title="Gap between samples",
                                        description="Frames between two embeddings of an undecided track.")
    refresh_interval_frames: int = Field(300, ge=1, le=100000, title="Refresh gap",
                                         description="Frames before a decided track is embedded again.")
    refresh_quality_gain: float = Field(1.5, ge=1.0, le=10.0, title="Refresh on better view",
                                        description="A decided track is embedded again early when its face is this many "
                                                    "times larger than at its best sample so far.")
    max_embeddings_per_track: int = Field(6, ge=2, le=100, title="Embeddings per track",
                                          description="Hard cap on embeddings computed for one track over its life.")
    max_embeddings_per_batch: int = Field(4, ge=1, le=256, title="Embeddings per batch",
                                          description="Per-batch cost budget: at most this many embeddings (~60-80 ms "
                                                      "each on CPU); undecided, larger faces go first, the rest wait.")

    crop_size: int = Field(96, ge=32, le=512, title="Crop size",
                           description="Side in pixels of the eyes-level face crop sent to the emotion pool.")
    crop_jpeg_quality: int = Field(90, ge=10, le=100, title="Crop JPEG quality", description="JPEG quality of the crop.")

    gallery_store: Literal["auto", "file", "redis"] = Field(
        "auto", title="Gallery store",
        description="auto: Redis when redis.url is set, else the local file; file; redis.")
    gallery_path: Path = Field(Path("~/.local/share/vidsentry/gallery.json"), title="Gallery file",
                               description="The local gallery (embeddings only, never photos) in embedded mode.")
    gallery_redis_prefix: str = Field("vidsentry:gallery", min_length=1, pattern=r"^[A-Za-z0-9:._-]+$",
                                      title="Gallery key prefix", description="Prefix of the gallery's Redis keys.")
    gallery_refresh_s: float = Field(5.0, ge=0.0, le=3600.0, title="Gallery refresh",
                                     description="How often a worker checks the gallery for changes (0: every batch).")

    @model_validator(mode="after")
    def _sampling_fits_the_cap(self) -> FaceConfig:
        if self.min_agreeing_samples > self.max_embeddings_per_track:
            raise ValueError(f"min_agreeing_samples ({self.min_agreeing_samples}) cannot exceed "
                             f"max_embeddings_per_track ({self.max_embeddings_per_track}): no track could be named")
        return self
