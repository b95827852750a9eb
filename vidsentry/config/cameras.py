"""Camera configuration: one entry per camera in ``cameras.yaml``, validated at start.

Shared by the producer (sources) and the aggregator (zones)."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from vidsentry.config import ConfigError
from vidsentry.config.yaml_file import read_yaml
from vidsentry.image_header import DEFAULT_MAX_PIXELS

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp")
"""URL schemes of the network streams a camera can read (through FFmpeg)."""
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
CAMERA_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
"""What a camera id may be (it is the bus key and a metrics label)."""


class Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="Zone name used by dwell-time rules.")
    polygon: list[tuple[float, float]] = Field(min_length=3, description="Corners as (x, y) fractions of the frame, 0..1.")

    @field_validator("polygon")
    @classmethod
    def _inside_frame(cls, corners: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in corners):
            raise ValueError("corners are fractions of the frame and must lie in 0..1")
        return corners


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera id: the bus key, in metrics and alerts.")
    source: str = Field(min_length=1, description="Video file, rtsp:// or http(s):// URL (incl. MJPEG), webcam index, or image folder.")
    fps: float = Field(10.0, gt=0, le=60, description="Frames per second to publish; faster sources are sampled down.")
    max_side: int = Field(768, ge=64, le=4096, description="Frames are shrunk so their longer side is at most this (px).")
    jpeg_quality: int = Field(85, ge=30, le=100, description="JPEG quality of published frames.")
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=64 * 64, le=1 << 30,
                            description="Largest source frame (width x height) decoded, bounding memory (a 12000x12000 "
                                        "image is 432 MB decoded). A larger JPEG image is shrunk while it is decoded "
                                        "(logged); a larger image of another kind is skipped (counted); a video file "
                                        "or stream with larger frames is refused with an error.")
    realtime: bool = Field(False, description="Files and image folders: play at their own pace, as a camera would. Off: as fast as possible (batch analysis).")
    zones: list[Zone] = Field(default_factory=list, description="Named areas of the view for zone rules.")

    @field_validator("source")
    @classmethod
    def _known_scheme(cls, source: str) -> str:
        scheme = URL_SCHEME.match(source)
        if scheme and scheme[1].lower() not in STREAM_SCHEMES:
            raise PydanticCustomError("source_scheme", "unsupported source scheme '{scheme}' (supported: {supported})",
                                      {"scheme": scheme[1], "supported": ", ".join(STREAM_SCHEMES)})
        return source


class ProducerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    buffer_frames: int = Field(8, ge=1, le=1000, description="Frames held per camera while the bus pushes back; beyond it the oldest are dropped (live sources).")
    reconnect_initial_s: float = Field(0.5, gt=0, le=60, description="First wait before reopening a failed live source.")
    reconnect_max_s: float = Field(30.0, gt=0, le=600, description="Longest wait between reopen attempts (exponential backoff with jitter).")
    open_timeout_s: float = Field(10.0, gt=0, le=120, description="How long opening a stream may take.")
    read_timeout_s: float = Field(5.0, gt=0, le=120, description="A stream that sends nothing for this long is treated as stalled and reopened.")
    spool_dir: Path = Field(Path("~/.local/state/vidsentry/spool"), description="Where live cameras' frames are spooled while the bus is unreachable (one folder per camera; a spool left by a previous run is replayed at start). One producer per folder.")
    spool_max_bytes: int = Field(256 * 1024 * 1024, ge=0, le=1 << 40, description="Disk a camera's spool may use; past it the oldest spooled frames are dropped (counted). 0: no spool, a live camera keeps only buffer_frames during an outage.")
    spool_max_age_s: float = Field(900.0, gt=0, le=7 * 86400, description="Spooled frames older than this are dropped (counted) instead of replayed.")
    unreachable_after_s: float = Field(3.0, gt=0, le=300, description="/healthz answers 503 once the bus has been unreachable this long: no connection, a refused frame, or a sent frame left unacknowledged. Frames go to the spool from the first moment.")


class CamerasFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cameras: list[CameraConfig] = Field(min_length=1)
    producer: ProducerSettings = Field(default_factory=ProducerSettings)

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for camera in cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
        return cameras


def load_cameras(path: Path) -> CamerasFile:
    """Read and validate cameras.yaml; errors name the file, the line and the bad key."""
    source = read_yaml(path, ConfigError, "cameras file")
    try:
        return CamerasFile.model_validate(source.data or {})
    except ValidationError as exc:
        raise ConfigError("invalid camera configuration:\n" + "\n".join(source.problems(exc))) from None
