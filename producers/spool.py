"""A camera's on-disk spool: the frames the bus could not take during an outage, kept in
order and handed back oldest first once it is reachable again, then removed.

Layout: ``<spool_dir>/camera-<id>/`` holds segment files ``<n>.seg`` (n counts up) of
records ``[u32 payload length][u32 crc32][f64 spooled at, wall clock][payload]`` (big
endian; the crc covers the time and the payload), the payload being the encoded FrameMsg
as it is published. New records go to the newest segment, and a new segment starts once
it passes ``segment_bytes``; a segment is deleted when all its records are gone, and the
folder when the spool is closed empty.

Bounds: records older than ``max_age_s``, and past ``max_bytes`` the oldest records, are
dropped and counted (``dropped``, and ``on_drop``). Disk use may pass ``max_bytes`` by
one segment (the part of the oldest segment already handed back).

Crash safety: each record is written through to the OS, without an fsync per record (a
killed process loses nothing written; a power cut may lose the last seconds). A torn or
corrupt record ends its segment: the newest segment is truncated there, an older one is
read up to there, and it is logged. The read position is saved on ``close``, so a clean
restart does not resend; after a crash the replay starts at the oldest record still on
disk (at least once: a few frames may be sent twice).

One process per spool: ``lock`` is held with flock; a second producer with the same camera
id and spool folder gets ``SpoolBusy``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

HEADER = struct.Struct(">IId")
MAX_RECORD_BYTES = 256 * 1024 * 1024
"""Larger lengths in a header can only be corruption (a frame is a few MB at most)."""


class SpoolError(RuntimeError):
    """The spool folder cannot be used (permissions, a full disk); frames fall back to the drop policy."""


class SpoolBusy(SpoolError):
    """Another process holds this spool."""


def spool_folder(spool_dir: Path, camera_id: str) -> Path:
    return Path(spool_dir).expanduser() / f"camera-{camera_id}"


def has_records(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.seg"))


@dataclass(frozen=True)
class _Entry:
    segment: int
    offset: int
    size: int
    spooled_at: float


class Spool:
    def __init__(self, folder: Path, max_bytes: int, max_age_s: float, clock: Callable[[], float] = time.time,
                 segment_bytes: int | None = None, on_drop: Callable[[int], None] | None = None) -> None:
        if max_bytes <= 0:
            raise ValueError("a spool needs max_bytes > 0 (0 turns spooling off before one is made)")
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.clock = clock
        self.segment_bytes = segment_bytes or min(16 << 20, max(64 << 10, max_bytes // 16))
        self.on_drop = on_drop
        self.dropped = 0
        self.bytes = 0
        self._entries: deque[_Entry] = deque()
        self._writer: BinaryIO | None = None
        self._write_segment = -1
        self._write_size = 0
        self._reader: tuple[int, BinaryIO] | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.folder / "lock", "ab")
        except OSError as exc:
            raise SpoolError(f"cannot use the spool folder {self.folder}: {exc.strerror}; check producer.spool_dir") from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SpoolBusy(f"{self.folder} is in use by another producer; give each one its own producer.spool_dir") from None
        self._next_segment = 0
        try:
            self._load()
        except OSError as exc:
            self._lock.close()
            raise SpoolError(f"cannot read the spool {self.folder}: {exc}; check producer.spool_dir") from None

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, payload: bytes) -> bool:
        """Add a record at the tail, dropping the oldest past the bounds; False if this record
        alone is over ``max_bytes`` (it is then the one dropped)."""
        size = HEADER.size + len(payload)
        self._expire()
        if size > self.max_bytes:
            self._count_drops(1)
            return False
        while self._entries and self.bytes + size > self.max_bytes:
            self._drop_oldest()
        try:
            writer = self._writer_with_room()
        except OSError as exc:
            raise SpoolError(f"cannot write to the spool {self.folder}: {exc}") from None
        now = self.clock()
        stamp = struct.pack(">d", now)
        record = HEADER.pack(len(payload), zlib.crc32(payload, zlib.crc32(stamp)), now) + payload
        offset = self._write_size
        try:
            written = writer.write(record)
            if written != len(record):
                raise OSError(f"short write ({written} of {len(record)} bytes)")
        except OSError as exc:
            os.truncate(self._path(self._write_segment), offset)
            raise SpoolError(f"cannot write to the spool {self.folder}: {exc}") from None
        self._write_size += len(record)
        self._entries.append(_Entry(self._write_segment, offset, size, now))
        self.bytes += size
        return True

    def peek(self) -> bytes | None:
        """The oldest record still within the bounds, left in place until ``pop``."""
        self._expire()
        while self._entries:
            entry = self._entries[0]
            try:
                reader = self._reader_for(entry.segment)
                reader.seek(entry.offset + HEADER.size)
                payload = reader.read(entry.size - HEADER.size)
            except OSError as exc:
                payload, problem = b"", str(exc)
            else:
                problem = "it was cut short outside vidsentry"
            if len(payload) == entry.size - HEADER.size:
                return payload
            log.warning("spool %s: a record of segment %d cannot be read (%s); it is dropped", self.folder, entry.segment,
                        problem)
            self._drop_oldest()
        return None

    def pop(self) -> None:
        """Forget the oldest record (it was handed to the bus)."""
        entry = self._entries.popleft()
        self.bytes -= entry.size
        self._release(entry.segment)

    def close(self) -> None:
        """Save the read position (or remove the folder when empty) and release the lock."""
        self._close_files()
        if self._entries:
            head = self._entries[0]
            temp = self.folder / "head.tmp"
            temp.write_text(f"{head.segment} {head.offset}\n")
            temp.replace(self.folder / "head")
        else:
            self._remove_segments()
            (self.folder / "head").unlink(missing_ok=True)
        if not self._lock.closed:
            self._lock.close()
        if not self._entries:
            (self.folder / "lock").unlink(missing_ok=True)
            try:
                self.folder.rmdir()
            except OSError:
                pass

    def _load(self) -> None:
        segments = sorted(int(p.stem) for p in self.folder.glob("*.seg") if p.stem.isdigit())
        head_segment, head_offset = self._read_head()
        for i, number in enumerate(segments):
            if number < head_segment:
                self._path(number).unlink(missing_ok=True)
                continue
            self._scan(number, newest=i == len(segments) - 1, start=head_offset if number == head_segment else 0)
        self._next_segment = segments[-1] + 1 if segments else 0
        if self._entries:
            log.info("spool %s: %d frame(s), %.1f MB from a previous run, replayed first", self.folder,
                     len(self._entries), self.bytes / 1e6)
        self._expire()

    def _read_head(self) -> tuple[int, int]:
        head = self.folder / "head"
        try:
            segment, offset = (int(x) for x in head.read_text().split())
        except (OSError, ValueError):
            return -1, 0
        head.unlink(missing_ok=True)
        return segment, offset

    def _scan(self, number: int, newest: bool, start: int) -> None:
        path = self._path(number)
        data = path.read_bytes()
        pos, kept, problem = 0, 0, None
        while pos < len(data):
            if len(data) - pos < HEADER.size:
                problem = "a torn record header"
                break
            length, crc, spooled_at = HEADER.unpack_from(data, pos)
            end = pos + HEADER.size + length
            if length > MAX_RECORD_BYTES or end > len(data):
                problem = "a torn record"
                break
            if zlib.crc32(data[pos + 8:end]) != crc:
                problem = "a corrupt record (checksum mismatch)"
                break
            if pos >= start:
                self._entries.append(_Entry(number, pos, end - pos, spooled_at))
                self.bytes += end - pos
                kept += 1
            pos = end
        if problem:
            lost = len(data) - pos
            if newest:
                os.truncate(path, pos)
                log.warning("spool %s: %s at byte %d of %s; the last %d bytes are cut off (a crash mid-write)",
                            self.folder, problem, pos, path.name, lost)
            else:
                log.warning("spool %s: %s at byte %d of %s; the %d bytes after it are skipped", self.folder, problem,
                            pos, path.name, lost)
        if not kept:
            path.unlink(missing_ok=True)

    def _expire(self) -> None:
        cutoff = self.clock() - self.max_age_s
        while self._entries and self._entries[0].spooled_at < cutoff:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        self.pop()
        self._count_drops(1)

    def _count_drops(self, count: int) -> None:
        self.dropped += count
        if self.on_drop:
            self.on_drop(count)

    def _writer_with_room(self) -> BinaryIO:
        if self._writer is None or self._write_size >= self.segment_bytes:
            if self._writer is not None:
                self._writer.close()
            self._write_segment, self._next_segment = self._next_segment, self._next_segment + 1
            self._writer = open(self._path(self._write_segment), "ab", buffering=0)
            self._write_size = 0
        return self._writer

    def _reader_for(self, segment: int) -> BinaryIO:
        if self._reader is None or self._reader[0] != segment:
            if self._reader is not None:
                self._reader[1].close()
            self._reader = (segment, open(self._path(segment), "rb"))
        return self._reader[1]

    def _release(self, segment: int) -> None:
        """Delete a segment once no record in it is left (the one being written included, when the spool is empty)."""
        if not self._entries:
            self._close_files()
            self._remove_segments()
            return
        if self._entries[0].segment == segment or segment == self._write_segment:
            return
        if self._reader is not None and self._reader[0] == segment:
            self._reader[1].close()
            self._reader = None
        self._path(segment).unlink(missing_ok=True)

    def _close_files(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer, self._write_segment, self._write_size = None, -1, 0
        if self._reader is not None:
            self._reader[1].close()
            self._reader = None

    def _remove_segments(self) -> None:
        for path in self.folder.glob("*.seg"):
            path.unlink(missing_ok=True)

    def _path(self, number: int) -> Path:
        return self.folder / f"{number:016d}.seg"
