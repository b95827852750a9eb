"""The message types that flow between stages: the only currency on the bus.

Each class mirrors one JSON Schema in ``schemas/v1/``; ``bytes`` fields travel as binary
attachments next to the JSON header (see ``codec.py``), never as base64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

EMOTION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
ACTION_LABELS: tuple[str, ...] = ("walking", "standing", "sitting", "lying", "running", "falling", "fighting", "unknown")

Box = list[float]
"""[x1, y1, x2, y2] in pixels of the frame the message refers to."""


def message_id(camera: str, seq: int, stage: str) -> str:
    """The stable id every message carries; the aggregator is idempotent on it."""
    return f"{camera}:{seq}:{stage}"


@dataclass
class FrameMsg:
    KIND: ClassVar[str] = "frame"
    camera: str
    seq: int
    ts_capture: float
    width: int
    height: int
    jpeg: bytes
    id: str = ""
    live: bool = False
    """A live camera's frame, or a file's paced in real time: ``ts_capture`` is then the wall
    clock at capture, and a stage that has fallen behind may skip costly work on stale frames
    (schema 1.1; absent in 1.0 messages, which read as False)."""
    still: bool = False
    """One photo of an image folder or a single image: a scene of its own, unrelated to the
    camera's frames before and after it, so stages must not track across it (schema 1.2)."""

    def __post_init__(self) -> None:
        self.id = self.id or message_id(self.camera, self.seq, "frame")

    @property
    def key(self) -> str:
        return self.camera


@dataclass
class Identity:
    status: Literal["pending", "known", "unknown"]
    person_id: str | None = None
    name: str | None = None
    distance: float | None = None
    reason: str | None = None
    """Why the identity is still ``pending`` (which quality check or rule held it back);
    None once decided (schema 1.2)."""


@dataclass
class FaceQuality:
    size_px: float
    blur: float


@dataclass
class Face:
    track_id: str
    box: Box
    score: float
    identity: Identity
    landmarks: list[list[float]] = field(default_factory=list)
    quality: FaceQuality | None = None
    crop: bytes | None = None


@dataclass
class FacesMsg:
    KIND: ClassVar[str] = "faces"
    camera: str
    seq: int
    ts_capture: float
    width: int
    height: int
    faces: list[Face]
    id: str = ""
    still: bool = False
    """The faces of a still photo (``FrameMsg.still``): the aggregator pairs each face with its
    body from this one frame (schema 1.3; absent before, which reads as False)."""

    def __post_init__(self) -> None:
        self.id = self.id or message_id(self.camera, self.seq, "faces")

    @property
    def key(self) -> str:
        return self.camera


@dataclass
class FaceEmotion:
    track_id: str
    probs: list[float]
    label: str
    person_id: str | None = None
    quality: FaceQuality | None = None


@dataclass
class EmotionsMsg:
    KIND: ClassVar[str] = "emotions"
    camera: str
    seq: int
    ts_capture: float
    faces: list[FaceEmotion]
    labels: list[str] = field(default_factory=lambda: list(EMOTION_LABELS))
    id: str = ""

    def __post_init__(self) -> None:
        self.id = self.id or message_id(self.camera, self.seq, "emotions")

    @property
    def key(self) -> str:
        return self.camera


@dataclass
class PersonAction:
    track_id: str
    box: Box
    action: str
    confidence: float
    window: list[float] = field(default_factory=list)
    keypoints: list[list[float]] = field(default_factory=list)
    kind: str | None = None
    """How ``action`` was judged: ``posture`` from this frame's pose alone (standing, sitting,
    lying: a photo, or a track too new for a window), ``temporal`` from the track's window of
    frames (walking, running, falling, fighting, and postures once the window is full). None in
    messages before schema 1.3."""


@dataclass
class ActionsMsg:
    KIND: ClassVar[str] = "actions"
    camera: str
    seq: int
    ts_capture: float
    width: int
    height: int
    persons: list[PersonAction]
    id: str = ""
    still: bool = False
    """The people of a still photo (``FrameMsg.still``), as ``FacesMsg.still`` (schema 1.3)."""

    def __post_init__(self) -> None:
        self.id = self.id or message_id(self.camera, self.seq, "actions")

    @property
    def key(self) -> str:
        return self.camera


@dataclass
class EventMsg:
    KIND: ClassVar[str] = "event"
    id: str
    person_id: str
    camera: str
    ts: float
    state: dict

    @property
    def key(self) -> str:
        return self.person_id


@dataclass
class DeadLetterMsg:
    KIND: ClassVar[str] = "deadletter"
    stage: str
    topic: str
    partition: int
    offset: int
    error_type: str
    error: str
    ts: float
    original: bytes
    original_key: str | None = None
    id: str = ""
    original_size: int | None = None
    """Bytes of the value as it arrived; None for a null value (a tombstone). Larger than
    ``len(original)`` when the original was cut to fit the dead-letter topic (schema 1.2)."""

    def __post_init__(self) -> None:
        self.id = self.id or f"{self.topic}:{self.partition}:{self.offset}:{self.stage}"

    @property
    def key(self) -> str | None:
        return self.original_key


Message = FrameMsg | FacesMsg | EmotionsMsg | ActionsMsg | EventMsg | DeadLetterMsg

MESSAGE_TYPES: dict[str, type] = {
    cls.KIND: cls for cls in (FrameMsg, FacesMsg, EmotionsMsg, ActionsMsg, EventMsg, DeadLetterMsg)
}
