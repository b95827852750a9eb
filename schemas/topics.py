"""Topic names and which message kind travels on each (ARCHITECTURE.md, "Topics and keys")."""

from __future__ import annotations

FRAMES = "frames"
FACES = "faces"
EMOTIONS = "emotions"
ACTIONS = "actions"
EVENTS = "events"
DEADLETTER = "deadletter"

ALL_TOPICS: tuple[str, ...] = (FRAMES, FACES, EMOTIONS, ACTIONS, EVENTS, DEADLETTER)

TOPIC_OF_KIND: dict[str, str] = {
    "frame": FRAMES,
    "faces": FACES,
    "emotions": EMOTIONS,
    "actions": ACTIONS,
    "event": EVENTS,
    "deadletter": DEADLETTER,
}
