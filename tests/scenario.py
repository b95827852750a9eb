"""Generated aggregator inputs: constructed faces / actions / emotions messages for one
camera on a capture clock, to drive the fusion and the rules through known scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import EMOTION_LABELS, ActionsMsg, EmotionsMsg, Face, FaceEmotion, FaceQuality, FacesMsg, Identity, PersonAction

T0 = 1_767_225_600.0  # 2026-01-01 00:00 UTC


def probs(label: str, p: float) -> list[float]:
    rest = (1 - p) / (len(EMOTION_LABELS) - 1)
    return [p if name == label else rest for name in EMOTION_LABELS]


@dataclass
class Scene:
    camera: str = "cam-1"
    fps: float = 5.0
    seq: int = 0
    messages: list = field(default_factory=list)

    def frame(self, t: float, faces: list[Face] = (), bodies: list[PersonAction] = (),
              emotions: list[FaceEmotion] = ()) -> None:
        ts = T0 + t
        self.seq += 1
        if faces is not None:
            self.messages.append(FacesMsg(self.camera, self.seq, ts, 640, 480, list(faces)))
        if bodies is not None:
            self.messages.append(ActionsMsg(self.camera, self.seq, ts, 640, 480, list(bodies)))
        if emotions:
            self.messages.append(EmotionsMsg(self.camera, self.seq, ts, list(emotions)))

    def run(self, seconds: float, start: float = 0.0, **people) -> None:
        """``people``: per frame, the faces/bodies/emotions lists (constant over the span)."""
        steps = int(round(seconds * self.fps))
        for i in range(steps):
            self.frame(start + i / self.fps, **people)


def face(track: str = "f1", status: str = "unknown", name: str | None = None, person_id: str | None = None,
         box=(300, 100, 340, 150)) -> Face:
    pid = person_id or (f"anon-{track}" if status == "unknown" else (f"p-{name.lower()}" if name else None))
    return Face(track, list(box), 0.95, Identity(status, pid, name, 0.3 if status == "known" else None),
                quality=FaceQuality(40.0, 120.0), crop=b"\xff\xd8 generated crop")


def body(track: str = "b1", action: str = "walking", box=(280, 90, 360, 400)) -> PersonAction:
    return PersonAction(track, list(box), action, 0.9)


def emotion(track: str = "f1", label: str = "neutral", p: float = 0.9) -> FaceEmotion:
    return FaceEmotion(track, probs(label, p), label, quality=FaceQuality(40.0, 120.0))


DEFAULT_RULE_SCENARIOS = {
    "fight": (dict(bodies=[body("b1", "fighting"), body("b2", "fighting", box=(380, 90, 460, 400))], faces=None), 3,
              dict(bodies=[body("b1", "fighting")], faces=None), 0.6),
    "fall": (dict(bodies=[body("b1", "falling")], faces=None), 1, dict(bodies=[body("b1", "walking")], faces=None), 5),
    "person-down": (dict(bodies=[body("b1", "lying")], faces=None), 12, dict(bodies=[body("b1", "lying")], faces=None), 6),
    "unknown-loitering": (dict(faces=[face("f1")], bodies=None), 62, dict(faces=[face("f1", "known", "Bob")], bodies=None), 62),
    "sustained-anger": (dict(faces=[face("f1")], bodies=None, emotions=[emotion("f1", "angry", 0.8)]), 8,
                        dict(faces=[face("f1")], bodies=None, emotions=[emotion("f1", "angry", 0.3)]), 8),
    "sustained-fear": (dict(faces=[face("f1")], bodies=None, emotions=[emotion("f1", "fear", 0.8)]), 8,
                       dict(faces=[face("f1")], bodies=None, emotions=[emotion("f1", "happy", 0.8)]), 8),
    "angry-crowd": (dict(faces=[face(f"f{i}", box=(100 * i, 50, 100 * i + 40, 100)) for i in range(4)], bodies=None,
                         emotions=[emotion(f"f{i}", "angry" if i % 2 else "fear", 0.9) for i in range(4)]), 14,
                    dict(faces=[face(f"f{i}", box=(100 * i, 50, 100 * i + 40, 100)) for i in range(4)], bodies=None,
                         emotions=[emotion(f"f{i}", "angry" if i == 0 else "happy", 0.9) for i in range(4)]), 14),
}
"""Per shipped rule: (what makes it fire, for how many seconds, a near miss that must not, for how many seconds)."""
