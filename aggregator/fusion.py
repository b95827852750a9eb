"""Who is who: map face tracks and body tracks of each camera to one person.

A face track and a body track are the same person when the face sits in the head region
of the body box in the same frame, in at least ``link_votes`` frames. Faces and bodies of
one frame arrive on different topics in any order; each side is kept for
``window_s`` seconds of capture time so the other side can still find it.

Person ids: a known face → the gallery's person id (so a known person is the same person
on every camera); an unknown face → the face worker's anonymous id; otherwise a
provisional id per track. A new track that appears where a person of the same camera
was lost less than ``regain_s`` ago takes that person's id.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from schemas import Face, PersonAction


@dataclass
class FusionSettings:
    link_votes: int = 2
    window_s: float = 5.0
    regain_s: float = 3.0
    head_fraction: float = 0.35


def face_person_id(camera: str, face: Face) -> str:
    if face.identity.status in ("known", "unknown") and face.identity.person_id:
        return face.identity.person_id
    return f"{camera}:face:{face.track_id}"


def body_person_id(camera: str, body: PersonAction) -> str:
    return f"{camera}:body:{body.track_id}"


HEAD_KEYPOINTS = range(5)
"""COCO order: nose, eyes, ears."""


def in_head_region(face_box: list[float], body_box: list[float], head_fraction: float) -> bool:
    cx, cy = (face_box[0] + face_box[2]) / 2, (face_box[1] + face_box[3]) / 2
    x1, y1, x2, y2 = body_box
    return x1 <= cx <= x2 and y1 <= cy <= y1 + head_fraction * (y2 - y1)


def face_on_body(face_box: list[float], body: PersonAction, head_fraction: float) -> bool:
    """The body's own head keypoints inside the face box when the pose model saw them (works for
    close-ups, where the head fills more than the top of the box); else the head-region rule."""
    head = [k for i, k in enumerate(body.keypoints) if i in HEAD_KEYPOINTS and len(k) > 2 and k[2] >= 0.3]
    if head:
        x1, y1, x2, y2 = face_box
        pad_x, pad_y = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
        inside = sum(x1 - pad_x <= k[0] <= x2 + pad_x and y1 - pad_y <= k[1] <= y2 + pad_y for k in head)
        return inside * 2 > len(head)
    return in_head_region(face_box, body.box, head_fraction)


@dataclass
class CameraTracks:
    faces_by_seq: dict[int, tuple[float, list[Face]]] = field(default_factory=dict)
    bodies_by_seq: dict[int, tuple[float, list[PersonAction]]] = field(default_factory=dict)
    order: deque = field(default_factory=deque)
    votes: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    face_person: dict[str, str] = field(default_factory=dict)
    body_person: dict[str, str] = field(default_factory=dict)


@dataclass
class Link:
    face_track: str
    body_track: str


class Fusion:
    def __init__(self, settings: FusionSettings | None = None) -> None:
        self.settings = settings or FusionSettings()
        self.cameras: dict[str, CameraTracks] = defaultdict(CameraTracks)

    def add_faces(self, camera: str, seq: int, ts: float, faces: list[Face]) -> list[Link]:
        tracks = self.cameras[camera]
        tracks.faces_by_seq[seq] = (ts, faces)
        self._remember(tracks, seq, ts)
        bodies = tracks.bodies_by_seq.get(seq, (ts, []))[1]
        return self._vote(tracks, faces, bodies)

    def add_bodies(self, camera: str, seq: int, ts: float, bodies: list[PersonAction]) -> list[Link]:
        tracks = self.cameras[camera]
        tracks.bodies_by_seq[seq] = (ts, bodies)
        self._remember(tracks, seq, ts)
        faces = tracks.faces_by_seq.get(seq, (ts, []))[1]
        return self._vote(tracks, faces, bodies)

    def forget(self, camera: str) -> None:
        self.cameras.pop(camera, None)

    def _vote(self, tracks: CameraTracks, faces: list[Face], bodies: list[PersonAction]) -> list[Link]:
        """Votes for each face's one body in this frame; returns links that just reached the bar."""
        new_links = []
        for face in faces:
            candidates = [b for b in bodies if face_on_body(face.box, b, self.settings.head_fraction)]
            if len(candidates) != 1:
                continue
            pair = (face.track_id, candidates[0].track_id)
            tracks.votes[pair] += 1
            if tracks.votes[pair] == self.settings.link_votes:
                new_links.append(Link(*pair))
        return new_links

    def _remember(self, tracks: CameraTracks, seq: int, ts: float) -> None:
        tracks.order.append((ts, seq))
        while tracks.order and tracks.order[0][0] < ts - self.settings.window_s:
            _, old = tracks.order.popleft()
            tracks.faces_by_seq.pop(old, None)
            tracks.bodies_by_seq.pop(old, None)
        if len(tracks.votes) > 1000:
            live_faces = {f.track_id for _, faces in tracks.faces_by_seq.values() for f in faces}
            live_bodies = {b.track_id for _, bodies in tracks.bodies_by_seq.values() for b in bodies}
            for pair in [p for p in tracks.votes if p[0] not in live_faces and p[1] not in live_bodies]:
                del tracks.votes[pair]
