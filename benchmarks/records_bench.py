"""One person, one record: how many aggregator records each person of the real samples ends up as.

Each sample video is published as `vidsentry run` publishes it (10 fps, 768 px, JPEG), and the
sample photos as one folder of stills; each frame goes through the real face and action stages.
Their answers are then replayed into the aggregator in the orders a running pipeline delivers
them (the two topics race each other), and the aggregator's final records are compared with the
people in the video:

- the people: each face track joined offline, over the whole video, to the body track whose
  box holds it in its top half in the most frames (at least half of the frames both are seen,
  and at least 2; 1 in a photo; a tie goes to the body centred nearest the face), plus every
  unpaired track as a person of its own; the fight model's region entry (a track
  ``.../fight``) is not a person;
- records per person: how many final records hold some track of a person (1 is right);
- split: people spread over more than one record; mixed: records holding two tracks of one
  kind seen at the same time (two people: a tracker follows one person with one track), or,
  among photos, two people of the reference (nobody is enrolled here, so no name joins them).

    .venv/bin/python benchmarks/records_bench.py [carphone bikes vtest photos] [--messages DIR]

``--messages DIR`` keeps the stages' answers (from the public samples) so that a second run,
e.g. after a change to the aggregator, replays the very same messages. Prints a markdown
table (EVALUATION.md, "One person, one record").
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2

from aggregator.aggregator import AggregatorStage
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from producers.encoder import encode_jpeg, shrink
from schemas import ActionsMsg, FacesMsg, FrameMsg, Message
from vidsentry.config import Config
from vidsentry.config.cameras import CameraConfig
from vidsentry.machine import cpu_summary
from vidsentry.samples import sample_cache

ORDERS = {
    "faces first": (0, 0),
    "bodies first": (0, 0),
    "bodies 3 frames late": (0, 3),
    "faces 3 frames late": (3, 0),
    "bodies 64 frames late": (0, 64),
    "faces 64 frames late": (64, 0),
}
"""Arrival order of each frame's two answers: (frames the faces lag, frames the bodies lag).
64 frames is what the in-memory bus of `vidsentry run` lets one topic run ahead (bus.memory.max_backlog)."""


PHOTOS = ("obama", "obama2", "biden", "group1", "group2", "group3")
"""The sample photos, as one folder of stills (``photos``)."""


def photo_frames(paths: list[Path], camera: CameraConfig) -> list[FrameMsg]:
    """The FrameMsgs a producer publishes for a folder of photos: each a still of its own."""
    frames = []
    for seq, path in enumerate(paths):
        image = shrink(cv2.imread(str(path)), camera.max_side)
        frames.append(FrameMsg(camera.id, seq, 1_700_000_000.0 + seq, image.shape[1], image.shape[0],
                               encode_jpeg(image, camera.jpeg_quality), still=True))
    return frames


def stage_answers(name: str, cache, config: Config) -> list[tuple[FacesMsg, ActionsMsg]]:
    """Each published frame's FacesMsg and ActionsMsg from the real stages."""
    from workers.action.clip_replay import clip_frames
    from workers.action.worker import build_stage as action_stage
    from workers.face.gallery_file import FileGallery
    from workers.face.worker import build_stage as face_stage

    faces = face_stage(config, gallery=FileGallery(Path(tempfile.mkdtemp()) / "empty-gallery.json"))
    actions = action_stage(config)
    if name == "photos":
        frames = photo_frames([cache.require(p) for p in PHOTOS], CameraConfig(id=name, source="photos", max_side=768))
    else:
        video = cache.require(name)
        frames = clip_frames(video, CameraConfig(id=name, source=str(video), fps=10.0, max_side=768))
    answers = []
    for frame in frames:
        face_out = [m for m in faces.process([frame]) if isinstance(m, FacesMsg)]
        action_out = [m for m in actions.process([frame]) if isinstance(m, ActionsMsg)]
        answers.append((face_out[0] if face_out else None, action_out[0] if action_out else None))
    return answers


def arrival(answers: list[tuple[FacesMsg | None, ActionsMsg | None]], order: str) -> list[Message]:
    face_lag, body_lag = ORDERS[order]
    timed = []
    for i, (faces, bodies) in enumerate(answers):
        first_faces = order != "bodies first"
        if faces is not None:
            timed.append((i + face_lag, 0 if first_faces else 1, faces))
        if bodies is not None:
            timed.append((i + body_lag, 1 if first_faces else 0, bodies))
    return [m for *_, m in sorted(timed, key=lambda t: (t[0], t[1]))]


def is_person_track(track: str) -> bool:
    return not track.endswith("/fight")


def _inside_top_half(face: list[float], body: list[float]) -> bool:
    fx1, fy1, fx2, fy2 = face
    bx1, by1, bx2, by2 = body
    overlap = max(0.0, min(fx2, bx2) - max(fx1, bx1)) * max(0.0, min(fy2, by2) - max(fy1, by1))
    area = max(1e-9, (fx2 - fx1) * (fy2 - fy1))
    return overlap >= 0.8 * area and (fy1 + fy2) / 2 <= (by1 + by2) / 2


@dataclass
class People:
    """Offline reference: person index by ("face"|"body", track), and each track's frames."""

    of_track: dict[tuple[str, str], int]
    count: int
    frames: dict[tuple[str, str], set[int]]
    photos: bool
    """Every frame a still: no two people of the reference may share a record (no gallery here)."""


def people_in(answers: list[tuple[FacesMsg | None, ActionsMsg | None]]) -> People:
    together: dict[tuple[str, str], int] = defaultdict(int)
    inside: dict[tuple[str, str], int] = defaultdict(int)
    off_centre: dict[tuple[str, str], float] = defaultdict(float)
    frames: dict[tuple[str, str], set[int]] = defaultdict(set)
    stills = 0
    for i, (faces, bodies) in enumerate(answers):
        stills += bool(getattr(faces, "still", False))
        face_list = faces.faces if faces else []
        body_list = [b for b in (bodies.persons if bodies else []) if is_person_track(b.track_id)]
        for f in face_list:
            frames[("face", f.track_id)].add(i)
        for b in body_list:
            frames[("body", b.track_id)].add(i)
        for f in face_list:
            for b in body_list:
                together[(f.track_id, b.track_id)] += 1
                inside[(f.track_id, b.track_id)] += _inside_top_half(f.box, b.box)
                width = max(1e-9, b.box[2] - b.box[0])
                off_centre[(f.track_id, b.track_id)] += abs((f.box[0] + f.box[2] - b.box[0] - b.box[2]) / 2) / width
    parent = {t: t for t in frames}

    def root(t):
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    least = 1 if stills == len(answers) else 2
    best: dict[str, tuple[int, float, str]] = {}
    for (face, body), n in together.items():
        if inside[(face, body)] >= least and inside[(face, body)] * 2 >= n:
            rank = (inside[(face, body)], -off_centre[(face, body)] / n, body)
            best[face] = max(best.get(face, rank), rank)
    for face, (_, _, body) in best.items():
        parent[root(("face", face))] = root(("body", body))
    roots = sorted({root(t) for t in frames})
    index = {r: i for i, r in enumerate(roots)}
    return People({t: index[root(t)] for t in frames}, len(roots), dict(frames), least == 1)


@dataclass
class Outcome:
    records: int
    people: int
    per_person: float
    split: int
    mixed: int
    both: int
    """People seen with face and body."""
    per_both: float


def replay(answers, order: str, config: Config) -> dict[str, dict]:
    stage = AggregatorStage(load_rules(config.aggregator.rules), MemoryStore(), [], config.aggregator)
    for message in arrival(answers, order):
        stage.process([message])
    return {pid: p.to_json() for pid, p in stage.persons.items()}


def _two_at_once(tracks: list[tuple[str, str]], frames: dict[tuple[str, str], set[int]]) -> bool:
    return any(a[0] == b[0] and frames[a] & frames[b] for i, a in enumerate(tracks) for b in tracks[i + 1:])


def score(records: dict[str, dict], people: People) -> Outcome:
    holders: dict[int, set[str]] = defaultdict(set)
    kept = mixed = 0
    for pid, state in records.items():
        tracks = [("face", t) for t in state["face_tracks"]] + [("body", t) for t in state["body_tracks"]]
        tracks = [t for t in tracks if t in people.of_track]
        if not tracks:
            continue
        kept += 1
        mixed += _two_at_once(tracks, people.frames) or (people.photos and len({people.of_track[t] for t in tracks}) > 1)
        for track in tracks:
            holders[people.of_track[track]].add(pid)
    counts = [len(holders[i]) for i in range(people.count)]
    kinds: dict[int, set[str]] = defaultdict(set)
    for (kind, _), person in people.of_track.items():
        kinds[person].add(kind)
    both = [len(holders[i]) for i in range(people.count) if kinds[i] == {"face", "body"}]
    return Outcome(kept, people.count, sum(counts) / max(1, people.count), sum(c > 1 for c in counts), mixed,
                   len(both), sum(both) / len(both) if both else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", nargs="*", default=["carphone", "bikes", "vtest", "photos"],
                        help="Sample videos (vidsentry samples list), or photos: the sample photos as one folder.")
    parser.add_argument("--messages", type=Path, help="Folder keeping the stages' answers between runs.")
    args = parser.parse_args()
    config = Config()
    cache = sample_cache(config.models.cache_dir)
    print(f"CPU: {cpu_summary()}\n")
    print("| video | people (offline) | of them with face and body | arrival order | records | records per person "
          "| records per person with face and body | split people | mixed records |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for name in args.samples:
        saved = args.messages / f"{name}.pickle" if args.messages else None
        if saved is not None and saved.exists():
            answers = pickle.loads(saved.read_bytes())
        else:
            started = time.monotonic()
            answers = stage_answers(name, cache, config)
            print(f"<!-- {name}: {len(answers)} frames through the stages in {time.monotonic() - started:.0f} s -->")
            if saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                saved.write_bytes(pickle.dumps(answers))
        people = people_in(answers)
        for order in ORDERS:
            o = score(replay(answers, order, config), people)
            print(f"| {name} | {o.people} | {o.both} | {order} | {o.records} | {o.per_person:.2f} | {o.per_both:.2f} "
                  f"| {o.split} | {o.mixed} |")


if __name__ == "__main__":
    main()
