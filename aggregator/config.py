"""Aggregator settings (the `aggregator` section of the config file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AggregatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: Path | None = Field(None, description="Rules YAML file; unset: the shipped default rules.")
    cameras: Path | None = Field(None, description="cameras.yaml: the zones zone rules use; rules naming a camera or zone it lacks are refused at start.")
    link_votes: int = Field(2, ge=1, le=50, description="Frames in which a face must sit in a body's head region before they are one person (a photo's one frame is enough).")
    fusion_window_s: float = Field(5.0, gt=0, le=120, description="How long the faces (or bodies) of a frame still wait for their counterpart once the other topic has passed that frame (a topic trailing by up to 60 s is still paired).")
    regain_s: float = Field(3.0, ge=0, le=120, description="A new track where a person was lost less than this long ago on the same camera keeps that person's id.")
    view_timeout_s: float = Field(2.0, gt=0, le=120, description="A person not seen for this long is out of view.")
    emotion_alpha: float = Field(0.3, gt=0, le=1, description="Weight of the newest emotion reading in the exponential moving average.")
    min_emotion_face_px: float = Field(24.0, ge=0, description="Emotion readings from smaller face crops are ignored.")
    end_grace_s: float = Field(2.0, ge=0, le=600, description="Conditions must stay false this long before an incident ends (no flapping).")
    event_interval_s: float = Field(1.0, gt=0, le=3600, description="Most frequent per-person update on the events topic, unless something changed.")
    person_ttl_s: int = Field(3600, ge=60, description="How long per-person state is kept after the last sighting.")
    redis_prefix: str = Field("vidsentry", pattern=r"^[A-Za-z0-9._-]+$", description="Prefix of every Redis key, stream and channel.")
    alerts_maxlen: int = Field(100_000, ge=100, description="Approximate cap of the alerts stream.")
    webhook_url: str | None = Field(None, description="Also POST each alert as JSON to this URL (retried in the background).")
    webhook_retries: int = Field(3, ge=0, le=20, description="Webhook attempts after the first.")
    snapshot_ttl_s: int = Field(7 * 86400, ge=60, le=365 * 86400, description="Seconds an alert's face snapshot is kept in Redis.")
    snapshot_files_max: int = Field(1000, ge=1, le=1_000_000, description="Embedded mode (alerts to files): most snapshot JPEGs kept in snapshots/; the oldest are deleted first.")
    snapshot_files_max_age_s: int = Field(7 * 86400, ge=60, le=365 * 86400, description="Embedded mode (alerts to files): snapshot JPEGs older than this are deleted.")
    blur_snapshots: Literal["none", "all", "unknown"] = Field(
        "none", description="Blur alert snapshots (face crops) before they are stored: all of them, or only those of "
                            "people not identified as known (unknown or still pending). A snapshot that cannot be "
                            "blurred is not stored.")
