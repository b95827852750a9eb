"""Who is who: map face tracks and body tracks of each camera to one person.

A face track and a body track are the same person when the face sits in the head region
of the body box in the same frame, in at least ``link_votes`` frames. Faces and bodies of
one frame arrive on different topics in any order, and one topic may run far behind the
other (the pose model is slower than the face model); each side of a frame is kept until
the other side has passed it by ``window_s`` seconds of capture time (at most
``max_lag_s`` behind its own side, so a missing worker does not grow memory).

Person ids (``PersonId``): a known face → the gallery's person id (so a known person is the
same person on every camera); an unknown face → the face worker's anonymous id; otherwise a
provisional id per track. A new track that appears where a person of the same camera
was lost less than ``regain_s`` ago takes that person's id (not on a camera of still photos,
where each photo is a scene of its own; there a face and a body link in that one frame).
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from schemas import Face, PersonAction
from schemas.person_id import PersonId


@dataclass
class FusionSettings:
    link_votes: int = 2
    window_s: float = 5.0
    regain_s: float = 3.0
    head_fraction: float = 0.35
    max_lag_s: float = 60.0
    """How far one topic may trail the other and still be paired."""
    span_memory_s: float = 600.0
    """How long a track's time span is remembered (to refuse joining two people seen at once)."""


def face_person_id(camera: str, face: Face) -> PersonId:
    if face.identity.status in ("known", "unknown") and face.identity.person_id:
        return PersonId.settled(face.identity.person_id)
    return PersonId.face(camera, face.track_id)


def body_person_id(camera: str, body: PersonAction) -> PersonId:
    return PersonId.body(camera, body.track_id)


def is_region(track_id: str) -> bool:
    """The action stage's fight region entry (``{camera}/fight``, where a fight is seen but no
    person was found) is a place, not a person: no face joins it and no track regains it."""
    return track_id.endswith("/fight")


HEAD_KEYPOINTS = range(5)
"""COCO order: nose, eyes, ears."""


def in_head_region(face_box: list[float], body_box: list[float], head_fraction: float) -> bool:
    cx, cy = (face_box[0] + face_box[2]) / 2, (face_box[1] + face_box[3]) / 2
    x1, y1, x2, y2 = body_box
    return x1 <= cx <= x2 and y1 <= cy <= y1 + head_fraction * (y2 - y1)


def _head_keypoints(body: PersonAction) -> list[list[float]]:
    return [k for i, k in enumerate(body.keypoints) if i in HEAD_KEYPOINTS and len(k) > 2 and k[2] >= 0.3]


def head_keypoints_inside(face_box: list[float], body: PersonAction) -> int:
    """How many of the body's head keypoints lie in the (padded) face box."""
    x1, y1, x2, y2 = face_box
    pad_x, pad_y = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
    return sum(x1 - pad_x <= k[0] <= x2 + pad_x and y1 - pad_y <= k[1] <= y2 + pad_y for k in _head_keypoints(body))


def head_keypoints_on_face(face_box: list[float], body: PersonAction) -> bool | None:
    """Whether most of the body's head keypoints lie in the face box; None when the pose model saw none."""
    head = _head_keypoints(body)
    return head_keypoints_inside(face_box, body) * 2 > len(head) if head else None


def face_on_body(face_box: list[float], body: PersonAction, head_fraction: float) -> bool:
    """The body's own head keypoints inside the face box when the pose model saw them (works for
    close-ups, where the head fills more than the top of the box); else the head-region rule."""
    on_face = head_keypoints_on_face(face_box, body)
    return on_face if on_face is not None else in_head_region(face_box, body.box, head_fraction)


def body_of_face(face_box: list[float], bodies: list[PersonAction], head_fraction: float) -> PersonAction | None:
    """The one body this face belongs to in a frame, or None when none or several could.

    Head keypoints on the face outrank the head-region rule: in a crowd, a face often sits in
    the top of two overlapping boxes but on the head keypoints of only one. Two skeletons with
    their heads on one face are one person found twice by the pose model: the one with more
    head keypoints on the face, then the bigger box, takes it. A body must hold the face's centre.
    """
    cx, cy = (face_box[0] + face_box[2]) / 2, (face_box[1] + face_box[3]) / 2
    holding = [b for b in bodies if not is_region(b.track_id) and b.box[0] <= cx <= b.box[2] and b.box[1] <= cy <= b.box[3]]
    by_keypoints = [b for b in holding if head_keypoints_on_face(face_box, b)]
    if by_keypoints:
        return max(by_keypoints, key=lambda b: (head_keypoints_inside(face_box, b), _area(b.box)))
    candidates = [b for b in holding if face_on_body(face_box, b, head_fraction)]
    return candidates[0] if len(candidates) == 1 else None


def _area(box: list[float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


@dataclass
class Side:
    """One topic's recent frames of a camera (faces or bodies), by seq."""

    by_seq: dict[int, tuple[float, list]] = field(default_factory=dict)
    order: deque = field(default_factory=deque)
    latest: float = float("-inf")
    stills: set[int] = field(default_factory=set)

    def add(self, seq: int, ts: float, items: list, still: bool = False) -> None:
        self.by_seq[seq] = (ts, items)
        self.order.append((ts, seq))
        self.latest = max(self.latest, ts)
        if still:
            self.stills.add(seq)

    def items(self, seq: int) -> list:
        return self.by_seq.get(seq, (0.0, []))[1]

    def prune(self, other_latest: float, settings: FusionSettings) -> None:
        """Drop frames the other side passed ``window_s`` ago, or that trail this side by ``max_lag_s``."""
        horizon = max(other_latest - settings.window_s, self.latest - settings.max_lag_s)
        while self.order and self.order[0][0] < horizon:
            _, seq = self.order.popleft()
            self.by_seq.pop(seq, None)
            self.stills.discard(seq)


@dataclass
class CameraTracks:
    faces: Side = field(default_factory=Side)
    bodies: Side = field(default_factory=Side)
    votes: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    face_person: dict[str, str] = field(default_factory=dict)
    body_person: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    """(first, last) capture time of each track (face and body track ids never collide)."""
    photos: bool = False
    """The camera sent still photos: each is a scene of its own, so no track regains a person."""

    def seen_together(self, a: list[str], b: list[str]) -> bool:
        """Whether some track of ``a`` and some track of ``b`` were seen at the same time: two
        tracks at once are two people (a tracker follows one person with one track)."""
        for x in a:
            for y in b:
                if x != y and x in self.spans and y in self.spans:
                    (a0, a1), (b0, b1) = self.spans[x], self.spans[y]
                    if a0 <= b1 and b0 <= a1:
                        return True
        return False


@dataclass(frozen=True)
class SeenFace:
    track_id: str
    box: list[float]


@dataclass
class Link:
    face_track: str
    body_track: str


class Fusion:
    def __init__(self, settings: FusionSettings | None = None) -> None:
        self.settings = settings or FusionSettings()
        self.cameras: dict[str, CameraTracks] = defaultdict(CameraTracks)

    def add_faces(self, camera: str, seq: int, ts: float, faces: list[Face], still: bool = False) -> list[Link]:
        """``still``: the faces of a photo, a scene of one frame: that frame alone links."""
        tracks = self.cameras[camera]
        seen = [SeenFace(f.track_id, f.box) for f in faces]  # not the crops: a trailing topic keeps many frames
        tracks.faces.add(seq, ts, seen, still)
        self._remember(tracks, ts, [f.track_id for f in faces])
        return self._vote(tracks, seen, tracks.bodies.items(seq), still or seq in tracks.bodies.stills)

    def add_bodies(self, camera: str, seq: int, ts: float, bodies: list[PersonAction], still: bool = False) -> list[Link]:
        tracks = self.cameras[camera]
        tracks.bodies.add(seq, ts, bodies, still)
        self._remember(tracks, ts, [b.track_id for b in bodies])
        return self._vote(tracks, tracks.faces.items(seq), bodies, still or seq in tracks.faces.stills)

    def note_stills(self, camera: str, still: bool) -> None:
        """Called before a message's tracks take ids: a camera of photos regains no one."""
        if still:
            self.cameras[camera].photos = True

    def forget(self, camera: str) -> None:
        self.cameras.pop(camera, None)

    def _vote(self, tracks: CameraTracks, faces: list[SeenFace], bodies: list[PersonAction], still: bool) -> list[Link]:
        """Votes for each face's one body in this frame; returns links that just reached the bar."""
        new_links = []
        for face in faces:
            body = body_of_face(face.box, bodies, self.settings.head_fraction)
            if body is None:
                continue
            pair = (face.track_id, body.track_id)
            before = tracks.votes[pair]
            tracks.votes[pair] = self.settings.link_votes if still else before + 1
            if before < self.settings.link_votes <= tracks.votes[pair]:
                new_links.append(Link(*pair))
        return new_links

    def _remember(self, tracks: CameraTracks, ts: float, track_ids: list[str]) -> None:
        for track in track_ids:
            first, last = tracks.spans.get(track, (ts, ts))
            tracks.spans[track] = (min(first, ts), max(last, ts))
        tracks.faces.prune(tracks.bodies.latest, self.settings)
        tracks.bodies.prune(tracks.faces.latest, self.settings)
        if len(tracks.spans) > 1000:
            latest = max(tracks.faces.latest, tracks.bodies.latest)
            for track in [t for t, (_, last) in tracks.spans.items() if last < latest - self.settings.span_memory_s]:
                del tracks.spans[track]
        if len(tracks.votes) > 1000:
            live_faces = {f.track_id for _, faces in tracks.faces.by_seq.values() for f in faces}
            live_bodies = {b.track_id for _, bodies in tracks.bodies.by_seq.values() for b in bodies}
            for pair in [p for p in tracks.votes if p[0] not in live_faces and p[1] not in live_bodies]:
                del tracks.votes[pair]
