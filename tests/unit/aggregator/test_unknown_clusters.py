"""An unknown face in one of the console's clusters is the cluster ("unknown-N") on every camera:
the aggregator with an in-memory cluster lookup, fed generated scenes of two cameras."""

from __future__ import annotations

import pytest

from aggregator.aggregator import AggregatorStage
from aggregator.clusters import TrackClusters, is_cluster
from aggregator.config import AggregatorConfig
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from tests.scenario import T0, Scene, face

LOITERING = "unknown-loitering"  # default rules: an unknown face in view for 60 s


class Clusters:
    """The console's clusters as a dict (camera, track) -> cluster, counting the questions."""

    def __init__(self, clusters: dict[tuple[str, str], str] | None = None) -> None:
        self.clusters = dict(clusters or {})
        self.asked = 0

    def cluster_of(self, camera: str, track_id: str) -> str | None:
        self.asked += 1
        return self.clusters.get((camera, track_id))


def make(clusters: Clusters | None) -> AggregatorStage:
    return AggregatorStage(load_rules(), MemoryStore(), [], AggregatorConfig(), clusters=clusters)


def feed(stage: AggregatorStage, *scenes: Scene, until: float | None = None) -> None:
    """The scenes' messages in capture order, one per batch (rules are evaluated per batch)."""
    messages = sorted((m for s in scenes for m in s.messages), key=lambda m: m.ts_capture)
    later = {id(m) for m in messages if until is not None and m.ts_capture >= T0 + until}
    for message in messages:
        if id(message) not in later:
            stage.process([message])
    for scene in scenes:
        scene.messages[:] = [m for m in scene.messages if id(m) in later]


def raised(stage: AggregatorStage, rule: str) -> list:
    return [a for a in stage.alerts_emitted if a.rule == rule and a.status == "raised"]


def walk_across(door: Scene, hall: Scene) -> None:
    """A stranger 40 s in front of the door camera, then 40 s in the hall (one second on both)."""
    door.run(40, faces=[face("d1")], bodies=None)
    hall.run(41, start=39, faces=[face("h1")], bodies=None)


@pytest.mark.parametrize("clustered_late", [True, False])
def test_one_stranger_on_two_cameras_is_one_person_with_one_dwell_and_one_incident(clustered_late):
    clusters = Clusters({("door", "d1"): "unknown-4"})
    if not clustered_late:
        clusters.clusters[("hall", "h1")] = "unknown-4"
    stage = make(clusters)
    door, hall = Scene("door"), Scene("hall")
    walk_across(door, hall)
    feed(stage, door, hall, until=45)
    if clustered_late:
        assert set(stage.persons) == {"unknown-4", "anon-h1"}, "the hall's track is not clustered yet"
        clusters.clusters[("hall", "h1")] = "unknown-4"  # the console's collector clusters it a little later
    feed(stage, door, hall)

    assert set(stage.persons) == {"unknown-4"}
    stranger = stage.persons["unknown-4"]
    assert (stranger.identity, stranger.name, stranger.camera) == ("unknown", "unknown-4", "hall")
    assert stranger.cameras == ["door", "hall"] and sorted(stranger.face_tracks) == ["d1", "h1"]
    assert stranger.in_view_since == T0, "the dwell runs on from the door camera"
    alerts = raised(stage, LOITERING)
    assert len(alerts) == 1 and alerts[0].subject == "unknown-4"
    assert abs(alerts[0].ts - (T0 + 60)) < 0.5
    assert stage.store.load_persons()[0].person_id == "unknown-4"


def test_without_clusters_each_camera_keeps_its_own_stranger_as_before():
    stage = make(None)
    door, hall = Scene("door"), Scene("hall")
    walk_across(door, hall)
    feed(stage, door, hall)
    assert set(stage.persons) == {"anon-d1", "anon-h1"}
    assert stage.persons["anon-h1"].name is None
    assert raised(stage, LOITERING) == [], "40 s per camera: no one loiters"


def test_clusters_are_asked_once_per_track_per_refresh_not_per_face():
    clusters = Clusters({("door", "d1"): "unknown-1", ("hall", "h1"): "unknown-1"})
    stage = make(clusters)
    door, hall = Scene("door"), Scene("hall")
    walk_across(door, hall)
    faces = len(door.messages) + len(hall.messages)
    feed(stage, door, hall)
    refresh_s = TrackClusters(clusters).refresh_s
    assert clusters.asked <= 2 * (41 / refresh_s + 1), f"{clusters.asked} questions for {faces} faces"
    assert set(stage.persons) == {"unknown-1"}


def test_clusters_merged_in_the_console_become_one_person():
    clusters = Clusters({("door", "d1"): "unknown-1", ("hall", "h1"): "unknown-2"})
    stage = make(clusters)
    door, hall = Scene("door"), Scene("hall")
    door.run(20, faces=[face("d1")], bodies=None)
    hall.run(20, faces=[face("h1")], bodies=None)
    feed(stage, door, hall, until=10)
    assert set(stage.persons) == {"unknown-1", "unknown-2"}
    clusters.clusters[("hall", "h1")] = "unknown-1"  # the operator merges unknown-2 into unknown-1
    feed(stage, door, hall)
    assert set(stage.persons) == {"unknown-1"}
    assert sorted(stage.persons["unknown-1"].face_tracks) == ["d1", "h1"]
    assert stage.persons["unknown-1"].merged == ["unknown-2"]


def test_a_track_split_off_a_cluster_leaves_the_others_in_it():
    clusters = Clusters({("door", "d1"): "unknown-1", ("hall", "h1"): "unknown-1"})
    stage = make(clusters)
    door, hall = Scene("door"), Scene("hall")
    door.run(20, faces=[face("d1")], bodies=None)
    hall.run(20, faces=[face("h1")], bodies=None)
    feed(stage, door, hall, until=10)
    assert set(stage.persons) == {"unknown-1"}
    clusters.clusters[("hall", "h1")] = "unknown-9"  # the operator splits the hall's sighting off
    feed(stage, door, hall)
    assert set(stage.persons) == {"unknown-1", "unknown-9"}
    assert stage.persons["unknown-1"].face_tracks == ["d1"] and stage.persons["unknown-9"].face_tracks == ["h1"]
    assert stage.persons["unknown-9"].name == "unknown-9"


@pytest.mark.parametrize("clustered_late", [True, False])
def test_a_stranger_back_an_hour_later_starts_a_new_visit(clustered_late):
    clusters = Clusters({("door", "d1"): "unknown-3"})
    if not clustered_late:
        clusters.clusters[("hall", "h2")] = "unknown-3"
    stage = make(clusters)
    door, hall = Scene("door"), Scene("hall")
    door.run(50, faces=[face("d1")], bodies=None)
    hall.run(20, start=1800, faces=[face("h2")], bodies=None)
    feed(stage, door, hall, until=1805)
    clusters.clusters[("hall", "h2")] = "unknown-3"
    feed(stage, door, hall)
    assert set(stage.persons) == {"unknown-3"}
    stranger = stage.persons["unknown-3"]
    assert stranger.cameras == ["door", "hall"] and stranger.in_view_since >= T0 + 1800
    assert raised(stage, LOITERING) == [], "50 s, then 20 s half an hour later: no loitering"


def test_a_cluster_named_in_the_console_becomes_the_known_person():
    clusters = Clusters({("door", "d1"): "unknown-1"})
    stage = make(clusters)
    door = Scene("door")
    door.run(10, faces=[face("d1")], bodies=None)
    feed(stage, door)
    del clusters.clusters[("door", "d1")]  # named: the console enrolled it and dropped the cluster
    door.run(10, start=10, faces=[face("d1")], bodies=None)
    feed(stage, door)
    assert set(stage.persons) == {"unknown-1"}, "out of its cluster, the track keeps its person"
    door.run(5, start=20, faces=[face("d1", "known", "Eve")], bodies=None)  # the face worker now knows her
    feed(stage, door)
    assert set(stage.persons) == {"p-eve"}
    eve = stage.persons["p-eve"]
    assert (eve.identity, eve.name, eve.in_view_since) == ("known", "Eve", T0)
    assert "unknown-1" in eve.merged


def test_cluster_ids_are_the_consoles():
    assert is_cluster("unknown-12") and not is_cluster("anon-3fa2") and not is_cluster("unknown-")
    assert not is_cluster("person-9c1e") and not is_cluster("unknown-3x")
