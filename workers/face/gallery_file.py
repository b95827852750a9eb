"""The gallery as one JSON file (embedded mode): readable, diffable, replaced atomically.

Writers take an exclusive lock on a sibling ``.lock`` file, so two enrolment commands
never lose each other's changes; readers (the worker) need no lock, because a write
replaces the whole file in one rename.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from workers.face.errors import GalleryError, UnknownPersonError
from workers.face.gallery import Person, as_embeddings, clean_name, empty_embeddings, new_person_id, valid_name

FORMAT = "vidsentry-gallery/1"


class FileGallery:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()

    def people(self) -> list[Person]:
        return self._read()

    def version(self) -> str:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return "absent"
        return f"{stat.st_mtime_ns}:{stat.st_size}:{stat.st_ino}"

    def add(self, name: str, embeddings: np.ndarray) -> Person:
        name, embeddings = valid_name(name), as_embeddings(embeddings)

        def change(people: list[Person]) -> Person:
            person = _find(people, name)
            if person is None:
                person = Person(new_person_id(), name, empty_embeddings(), empty_embeddings())
                people.append(person)
            person.embeddings = np.concatenate([person.embeddings, embeddings])
            return person

        return self._modify(change)

    def reject(self, name: str, embeddings: np.ndarray) -> Person:
        name, embeddings = clean_name(name), as_embeddings(embeddings)

        def change(people: list[Person]) -> Person:
            person = _require(people, name)
            person.rejected = np.concatenate([person.rejected, embeddings])
            return person

        return self._modify(change)

    def remove(self, name: str) -> Person:
        name = clean_name(name)

        def change(people: list[Person]) -> Person:
            person = _require(people, name)
            people.remove(person)
            return person

        return self._modify(change)

    def _modify(self, change: Callable[[list[Person]], Person]) -> Person:
        with self._locked():
            people = self._read()
            person = change(people)
            self._write(people)
            return person

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_name(self.path.name + ".lock"), "a")
        except OSError as exc:
            raise GalleryError(f"cannot write the gallery at {self.path}: {exc}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _read(self) -> list[Person]:
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise GalleryError(f"cannot read the gallery at {self.path}: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise GalleryError(f"{self.path} is not a vidsentry gallery (expected format {FORMAT!r})")
        try:
            return [Person(p["person_id"], p["name"], _array(p["embeddings"]), _array(p["rejected"]))
                    for p in document["people"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise GalleryError(f"{self.path} is damaged: {exc!r}") from None

    def _write(self, people: list[Person]) -> None:
        document = {"format": FORMAT, "people": [
            {"person_id": p.person_id, "name": p.name, "embeddings": p.embeddings.tolist(), "rejected": p.rejected.tolist()}
            for p in people]}
        try:
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, prefix=self.path.name, suffix=".tmp",
                                             delete=False) as tmp:
                json.dump(document, tmp, separators=(",", ":"))
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp.name, self.path)
        except OSError as exc:
            Path(tmp.name).unlink(missing_ok=True)
            raise GalleryError(f"cannot write the gallery at {self.path}: {exc}") from None


def _array(rows: list) -> np.ndarray:
    return as_embeddings(rows) if rows else empty_embeddings()


def _find(people: list[Person], name: str) -> Person | None:
    return next((p for p in people if p.name == name), None)


def _require(people: list[Person], name: str) -> Person:
    person = _find(people, name)
    if person is None:
        raise UnknownPersonError(name, [p.name for p in people])
    return person
