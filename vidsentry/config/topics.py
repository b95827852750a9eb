"""How long Kafka keeps each topic's records (``bus.kafka.retention_ms``). Set as
``retention.ms`` when vidsentry creates a topic. Face crops ride ``faces`` and whole
frames ``frames``: both are kept only as long as a lagging worker could still need them."""

from __future__ import annotations

from pydantic import Field

from vidsentry.config.section import Section

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


class TopicRetention(Section):
    frames: int = Field(HOUR_MS, ge=MINUTE_MS, le=30 * DAY_MS,
                        description="Milliseconds Kafka keeps camera frames (whole images of everyone in view).")
    faces: int = Field(HOUR_MS, ge=MINUTE_MS, le=30 * DAY_MS,
                       description="Milliseconds Kafka keeps face records, which carry aligned face crops "
                                   "(biometric data): keep it short.")
    emotions: int = Field(DAY_MS, ge=MINUTE_MS, le=365 * DAY_MS,
                          description="Milliseconds Kafka keeps per-face emotion readings.")
    actions: int = Field(DAY_MS, ge=MINUTE_MS, le=365 * DAY_MS,
                         description="Milliseconds Kafka keeps per-body action records.")
    events: int = Field(7 * DAY_MS, ge=MINUTE_MS, le=365 * DAY_MS,
                        description="Milliseconds Kafka keeps per-person state updates.")
    deadletter: int = Field(3 * DAY_MS, ge=MINUTE_MS, le=365 * DAY_MS,
                            description="Milliseconds Kafka keeps dead letters (they hold the original record, "
                                        "possibly a frame or face crops): long enough for an operator to look.")

    def of(self, topic: str) -> int | None:
        """The retention of a vidsentry topic; None for any other (the broker default applies)."""
        return getattr(self, topic, None) if topic in type(self).model_fields else None
