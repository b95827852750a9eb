"""The on-disk spool: order, bounds by size and age (injected clock), restart and crash
replay, a torn or corrupt tail, one process per folder."""

from __future__ import annotations

import pytest

from producers.spool import HEADER, Spool, SpoolBusy, has_records, spool_folder


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def payload(i: int, size: int = 100) -> bytes:
    return f"frame-{i:04d}-".encode().ljust(size, b".")


def drain(spool: Spool) -> list[bytes]:
    out = []
    while (item := spool.peek()) is not None:
        out.append(item)
        spool.pop()
    return out


def segments(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("*.seg"))


RECORD = HEADER.size + 100


def test_records_come_back_in_order_across_segments_and_the_folder_goes_when_empty(tmp_path):
    folder = spool_folder(tmp_path, "door")
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock(), segment_bytes=3 * RECORD)
    for i in range(10):
        assert spool.append(payload(i))
    assert len(spool) == 10 and spool.bytes == 10 * RECORD
    assert len(segments(folder)) == 4
    first = [spool.peek()]
    spool.pop()
    assert first == [payload(0)]
    rest = drain(spool)
    assert rest == [payload(i) for i in range(1, 10)]
    assert segments(folder) == [], "a replayed spool is removed"
    spool.close()
    assert not folder.exists()
    assert spool.dropped == 0


def test_segments_are_deleted_as_they_are_replayed(tmp_path):
    folder = tmp_path / "s"
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock(), segment_bytes=2 * RECORD)
    for i in range(6):
        spool.append(payload(i))
    assert len(segments(folder)) == 3
    for _ in range(3):
        spool.peek()
        spool.pop()
    assert len(segments(folder)) == 2, "the first segment is gone once its two records are"
    spool.close()


def test_past_the_size_bound_the_oldest_are_dropped_and_counted(tmp_path):
    drops = []
    spool = Spool(tmp_path / "s", max_bytes=3 * RECORD, max_age_s=60, clock=Clock(), segment_bytes=RECORD,
                  on_drop=drops.append)
    for i in range(5):
        assert spool.append(payload(i))
    assert spool.bytes <= 3 * RECORD
    assert spool.dropped == 2 and sum(drops) == 2
    assert drain(spool) == [payload(2), payload(3), payload(4)]
    assert not spool.append(payload(9, size=4 * RECORD)), "a record over the whole bound can never fit"
    assert spool.dropped == 3
    spool.close()


def test_records_older_than_the_age_bound_are_dropped_not_replayed(tmp_path):
    clock = Clock()
    spool = Spool(tmp_path / "s", max_bytes=10**6, max_age_s=30, clock=clock)
    for i in range(4):
        spool.append(payload(i))
        clock.now += 10
    clock.now = 1000.0 + 30 + 15  # records 0 and 1 were spooled more than 30 s ago
    assert spool.peek() == payload(2)
    assert spool.dropped == 2 and len(spool) == 2
    clock.now += 1000
    spool.append(payload(4))
    assert spool.dropped == 4, "appending also expires the old ones"
    assert drain(spool) == [payload(4)]
    spool.close()


def test_a_clean_restart_replays_what_was_left_without_resending(tmp_path):
    folder = tmp_path / "s"
    clock = Clock()
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=clock, segment_bytes=3 * RECORD)
    for i in range(7):
        spool.append(payload(i))
    for _ in range(4):
        spool.peek()
        spool.pop()
    spool.close()
    assert has_records(folder)
    again = Spool(folder, max_bytes=10**6, max_age_s=60, clock=clock, segment_bytes=3 * RECORD)
    assert len(again) == 3
    again.append(payload(7))
    assert drain(again) == [payload(i) for i in range(4, 8)]
    again.close()
    assert not folder.exists()


def test_after_a_crash_the_replay_starts_at_the_oldest_record_on_disk(tmp_path):
    folder = tmp_path / "s"
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock())
    for i in range(3):
        spool.append(payload(i))
    spool.peek()
    spool.pop()
    spool._close_files()
    spool._lock.close()  # the process died: no read position was saved, the lock went with it
    again = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock())
    assert drain(again) == [payload(0), payload(1), payload(2)], "at least once: the sent one may come again"
    again.close()


@pytest.mark.reliability(fault="a producer killed mid-write: a torn record at the end of its spool",
                         happened="at the next start the segment is cut at the last whole record and the spool goes on",
                         lost="only the torn record")
def test_a_torn_tail_is_truncated_and_the_spool_goes_on(tmp_path):
    folder = tmp_path / "s"
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock())
    for i in range(3):
        spool.append(payload(i))
    spool.close()
    (last,) = folder.glob("*.seg")
    clean = last.stat().st_size
    with open(last, "ab") as f:  # a crash in the middle of the fourth record
        f.write(HEADER.pack(100, 0, 0.0) + b"half a fra")
    again = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock())
    assert len(again) == 3
    assert last.stat().st_size == clean, "cut at the last whole record"
    again.append(payload(3))
    again.close()
    third = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock())
    assert drain(third) == [payload(i) for i in range(4)]
    third.close()


@pytest.mark.reliability(fault="a corrupt record (a flipped byte) in the middle of a spool segment",
                         happened="the checksum catches it; that segment is read up to it, later segments are replayed",
                         lost="the rest of that one segment (logged)")
def test_a_corrupt_record_ends_its_segment_and_later_segments_are_kept(tmp_path):
    folder = tmp_path / "s"
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock(), segment_bytes=3 * RECORD)
    for i in range(6):
        spool.append(payload(i))
    spool.close()
    first, second = sorted(folder.glob("*.seg"))
    data = bytearray(first.read_bytes())
    data[RECORD + HEADER.size + 3] ^= 0xFF  # a flipped byte in the second record's payload
    first.write_bytes(bytes(data))
    again = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock(), segment_bytes=3 * RECORD)
    assert drain(again) == [payload(0), payload(3), payload(4), payload(5)]
    again.close()


def test_garbage_in_a_spool_folder_is_not_replayed(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "0000000000000000.seg").write_bytes(b"\xff" * 50)
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock())
    assert len(spool) == 0 and spool.peek() is None
    spool.close()
    assert not folder.exists()


def test_one_process_per_spool_folder(tmp_path):
    spool = Spool(tmp_path / "s", max_bytes=10**6, max_age_s=60)
    with pytest.raises(SpoolBusy, match="spool_dir"):
        Spool(tmp_path / "s", max_bytes=10**6, max_age_s=60)
    spool.close()
    Spool(tmp_path / "s", max_bytes=10**6, max_age_s=60).close()


def test_a_segment_removed_behind_its_back_drops_its_records_and_the_rest_go_on(tmp_path):
    folder = tmp_path / "s"
    spool = Spool(folder, max_bytes=10**6, max_age_s=60, clock=Clock(), segment_bytes=2 * RECORD)
    for i in range(4):
        spool.append(payload(i))
    sorted(folder.glob("*.seg"))[0].unlink()
    assert drain(spool) == [payload(2), payload(3)]
    assert spool.dropped == 2
    spool.close()


def test_an_unwritable_folder_is_a_spool_error(tmp_path):
    from producers.spool import SpoolError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SpoolError, match="spool_dir"):
        Spool(blocker / "s", max_bytes=10**6, max_age_s=60)
