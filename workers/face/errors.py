"""Typed errors of the face worker and the gallery; each carries the evidence."""

from __future__ import annotations

from pathlib import Path

from workers.frames import DecodeError  # noqa: F401  (raised by the stage; re-exported for callers)


class GalleryError(RuntimeError):
    """The gallery store cannot be read or written (bad file, Redis down...)."""


class UnknownPersonError(GalleryError, KeyError):
    """A command names a person the gallery does not hold."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        listed = ", ".join(sorted(known)) if known else "the gallery is empty"
        super().__init__(f"no person named {name!r} in the gallery ({listed})")

    def __str__(self) -> str:
        return self.args[0]


class InvalidNameError(ValueError):
    """A person's name outside what a gallery accepts (see ``workers.face.gallery.valid_name``)."""


class EnrolmentError(ValueError):
    """An image cannot be used to enrol (or reject) a face; the message says why and what to do."""

    def __init__(self, image: Path | str, reason: str) -> None:
        self.image = Path(image)
        self.reason = reason
        super().__init__(f"{image}: {reason}")


class NoFaceError(EnrolmentError):
    def __init__(self, image: Path | str) -> None:
        super().__init__(image, "no face found; use a photo where the face is clearly visible")


class SeveralFacesError(EnrolmentError):
    def __init__(self, image: Path | str, boxes: list[list[float]]) -> None:
        self.boxes = boxes
        where = "; ".join("[" + ", ".join(f"{v:.0f}" for v in box) + "]" for box in boxes)
        super().__init__(image, f"{len(boxes)} faces found (at {where}); enrolment needs a photo of exactly one "
                                "person, crop it to the one face")


class PoorFaceError(EnrolmentError):
    """One face was found but it is too poor a sample to enrol (too small, blurred, clipped...)."""
