"""The contracts on the bus: message types, their JSON Schemas, the codec and topic names."""

from schemas.codec import decode, encode
from schemas.errors import SchemaError, UnknownVersionError
from schemas.messages import (
    ACTION_LABELS,
    EMOTION_LABELS,
    ActionsMsg,
    DeadLetterMsg,
    EmotionsMsg,
    EventMsg,
    Face,
    FaceEmotion,
    FaceQuality,
    FacesMsg,
    FrameMsg,
    Identity,
    Message,
    PersonAction,
)
from schemas.topics import ALL_TOPICS, TOPIC_OF_KIND

__all__ = [
    "ACTION_LABELS", "ALL_TOPICS", "EMOTION_LABELS", "TOPIC_OF_KIND", "ActionsMsg", "DeadLetterMsg", "EmotionsMsg",
    "EventMsg", "Face", "FaceEmotion", "FaceQuality", "FacesMsg", "FrameMsg", "Identity", "Message", "PersonAction",
    "SchemaError", "UnknownVersionError", "decode", "encode",
]
