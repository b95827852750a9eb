"""The id of a fused person record, as events, alerts and the state store carry it (a string).

A settled id is the same on every camera: the gallery's person id of a known face, or the face
worker's anonymous id of an unknown one. Until a track is named or joined to another, its
record has a provisional id that says where it came from: ``{camera}:face:{track}`` or
``{camera}:body:{track}``. Camera ids have no ``:`` (config pattern), settled ids neither.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("face", "body")


@dataclass(frozen=True)
class PersonId:
    name: str | None = None
    """A settled id; None for a provisional one."""
    camera: str | None = None
    kind: str | None = None
    track: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None:
            if not self.name or ":" in self.name or any((self.camera, self.kind, self.track)):
                raise ValueError(f"settled person id {self.name!r}: a non-empty name without ':' and nothing else")
        elif not self.camera or ":" in self.camera or self.kind not in KINDS or not self.track:
            raise ValueError(f"provisional person id needs a camera without ':', a kind in {KINDS} and a track; "
                             f"got {self.camera!r}, {self.kind!r}, {self.track!r}")

    @classmethod
    def settled(cls, name: str) -> PersonId:
        return cls(name=name)

    @classmethod
    def face(cls, camera: str, track: str) -> PersonId:
        return cls(camera=camera, kind="face", track=track)

    @classmethod
    def body(cls, camera: str, track: str) -> PersonId:
        return cls(camera=camera, kind="body", track=track)

    @property
    def provisional(self) -> bool:
        return self.name is None

    def __str__(self) -> str:
        return self.name if self.name is not None else f"{self.camera}:{self.kind}:{self.track}"

    @classmethod
    def parse(cls, text: str) -> PersonId:
        """The inverse of ``str``; a ValueError for anything else."""
        parts = text.split(":", 2)
        if len(parts) == 1:
            return cls(name=text)
        if len(parts) == 3 and parts[1] in KINDS:
            return cls(camera=parts[0], kind=parts[1], track=parts[2])
        raise ValueError(f"not a person id: {text!r} (a name without ':' or camera:face|body:track)")

    @classmethod
    def is_provisional(cls, text: str) -> bool:
        return cls.parse(text).provisional
