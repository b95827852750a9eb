"""Matching and the per-track identity decision, on embeddings of the real photos."""

from __future__ import annotations

import numpy as np
import pytest

from schemas import Identity
from workers.face.config import FaceConfig
from workers.face.gallery import Person, empty_embeddings
from workers.face.identity import GalleryIndex, TrackIdentity, decide

CONFIG = FaceConfig()


def person(name: str, *embeddings: np.ndarray, rejected: tuple[np.ndarray, ...] = ()) -> Person:
    return Person(f"person-{name.lower()}", name, np.stack(embeddings),
                  np.stack(rejected) if rejected else empty_embeddings())


def test_distances_match_the_known_ranges(photo_embedding):
    same = np.linalg.norm(photo_embedding("obama") - photo_embedding("obama2"))
    different = np.linalg.norm(photo_embedding("obama") - photo_embedding("biden"))
    assert 0.2 < same < 0.45 and different > 0.75


def test_match_names_the_closest_person_within_the_threshold(photo_embedding):
    index = GalleryIndex([person("Obama", photo_embedding("obama")), person("Biden", photo_embedding("biden"))])
    match = index.match(photo_embedding("obama2"), 0.6, 0.08)
    assert (match.person_id, match.name) == ("person-obama", "Obama")
    assert match.distance < 0.45 and match.margin > 0.3
    alone = GalleryIndex([person("Biden", photo_embedding("biden"))]).match(photo_embedding("obama2"), 0.6, 0.08)
    assert alone.person_id is None and alone.distance > 0.6


def test_two_people_too_close_to_call_match_neither(photo_embedding):
    """The same face enrolled under two names: the margin rule refuses to pick one."""
    index = GalleryIndex([person("Obama", photo_embedding("obama")), person("Lookalike", photo_embedding("obama"))])
    match = index.match(photo_embedding("obama2"), 0.6, 0.08)
    assert match.person_id is None and match.margin == pytest.approx(0.0)
    assert match.distance < 0.6


def test_a_rejected_face_and_faces_closer_to_it_stop_matching(photo_embedding):
    index = GalleryIndex([person("Obama", photo_embedding("obama"), rejected=(photo_embedding("obama2"),))])
    assert index.match(photo_embedding("obama2"), 0.6, 0.08).person_id is None
    assert index.match(photo_embedding("obama"), 0.6, 0.08).person_id == "person-obama"
    near_the_rejected = photo_embedding("obama2") + 0.02 * (photo_embedding("obama") - photo_embedding("obama2"))
    assert index.match(near_the_rejected, 0.6, 0.08).person_id is None


def test_one_sample_never_names_a_track(photo_embedding):
    index = GalleryIndex([person("Obama", photo_embedding("obama"))])
    assert decide([photo_embedding("obama2")], index, CONFIG, "anon-1").status == "pending"
    known = decide([photo_embedding("obama2")] * 2, index, CONFIG, "anon-1")
    assert (known.status, known.person_id, known.name) == ("known", "person-obama", "Obama")
    assert known.distance == pytest.approx(np.linalg.norm(photo_embedding("obama") - photo_embedding("obama2")), abs=1e-3)


def test_disagreeing_samples_stay_pending_until_a_majority(photo_embedding):
    index = GalleryIndex([person("Obama", photo_embedding("obama"))])
    obama, biden = photo_embedding("obama2"), photo_embedding("biden")
    assert decide([obama, biden], index, CONFIG, "anon-1").status == "pending"
    assert decide([obama, biden, obama], index, CONFIG, "anon-1").status == "known"
    assert decide([obama, biden, biden], index, CONFIG, "anon-1").status == "unknown"


def test_an_unknown_face_gets_the_tracks_anonymous_id(photo_embedding):
    index = GalleryIndex([person("Obama", photo_embedding("obama"))])
    identity = TrackIdentity("cam/abc/7")
    identity.add_sample(photo_embedding("biden"), 1, 300)
    identity.add_sample(photo_embedding("biden"), 4, 300)
    result = identity.decide(index, CONFIG)
    assert result.status == "unknown" and result.name is None and result.distance > 0.6
    assert result.person_id == identity.anonymous_id == TrackIdentity("cam/abc/7").anonymous_id
    assert result.person_id != TrackIdentity("cam/abc/8").anonymous_id
    assert decide([photo_embedding("biden")] * 2, GalleryIndex([]), CONFIG, "anon-x").person_id == "anon-x"


def test_sampling_is_frequent_while_undecided_then_rare_and_capped():
    config = FaceConfig(sample_interval_frames=3, refresh_interval_frames=100, refresh_quality_gain=1.5,
                        max_embeddings_per_track=4)
    identity = TrackIdentity("cam/x/1")
    assert identity.wants_sample(0, 60, config)
    identity.add_sample(np.zeros(128), 0, 60)
    assert not identity.wants_sample(2, 60, config) and identity.wants_sample(3, 60, config)
    identity.add_sample(np.zeros(128), 3, 60)
    identity.identity = Identity("unknown", "anon", None, 0.9)
    assert not identity.wants_sample(50, 80, config), "decided: no refresh for a slightly larger face"
    assert identity.wants_sample(50, 90, config), "decided: refresh for a 1.5x larger face"
    assert identity.wants_sample(103, 60, config), "decided: refresh after the interval"
    identity.add_sample(np.zeros(128), 103, 60)
    identity.add_sample(np.zeros(128), 300, 60)
    assert not identity.wants_sample(10_000, 1000, config), "the per-track cap is final"
