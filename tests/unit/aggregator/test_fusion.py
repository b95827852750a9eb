"""Which face belongs to which body, and which records are one person (constructed boxes,
keypoints and message orders)."""

import pytest


def test_a_close_up_face_is_matched_to_its_body_by_head_keypoints():
    from aggregator.fusion import face_on_body, in_head_region
    from schemas import PersonAction

    face_box = [58.8, 40.6, 111.7, 93.5]
    close_up = PersonAction("b", [30.1, 13.9, 174.1, 143.2], "standing", 0.9,
                            keypoints=[[85, 70, 0.9], [75, 60, 0.8], [95, 60, 0.8], [65, 62, 0.5], [105, 62, 0.5]])
    assert not in_head_region(face_box, close_up.box, 0.35), "the fraction rule alone misses close-ups"
    assert face_on_body(face_box, close_up, 0.35)
    elsewhere = PersonAction("c", close_up.box, "standing", 0.9, keypoints=[[150, 30, 0.9], [145, 25, 0.9], [155, 25, 0.9]])
    assert not face_on_body(face_box, elsewhere, 0.35)


def test_person_ids_print_and_parse_back():
    from schemas.person_id import PersonId

    for pid in (PersonId.settled("anon-3fa2"), PersonId.face("door", "door/ab12cd/7"), PersonId.body("door", "door/ff00aa/2")):
        assert PersonId.parse(str(pid)) == pid
    assert str(PersonId.body("yard", "yard/0a0b0c/3")) == "yard:body:yard/0a0b0c/3"
    assert PersonId.is_provisional("yard:face:yard/0a0b0c/3") and not PersonId.is_provisional("person-9c1e")
    for bad in ("yard:hand:3", "a:b", "", "yard:face:"):
        with pytest.raises(ValueError):
            PersonId.parse(bad)
    with pytest.raises(ValueError):
        PersonId.face("a:b", "t1")


def _stage(**config):
    from aggregator.aggregator import AggregatorStage
    from aggregator.config import AggregatorConfig
    from aggregator.rules import load_rules
    from aggregator.state import MemoryStore

    return AggregatorStage(load_rules(), MemoryStore(), [], AggregatorConfig(**config))


def _tracks(stage) -> dict[str, tuple[list[str], list[str]]]:
    return {pid: (p.face_tracks, p.body_tracks) for pid, p in stage.persons.items()}


def test_a_face_seen_briefly_joins_its_body_even_when_the_bodies_run_far_behind():
    """The face topic 10 s ahead of the body topic (the pose model is the slow one): the face of
    the first second still finds its body when the bodies of that second arrive."""
    from tests.scenario import Scene, body, face

    scene = Scene()
    scene.run(1, faces=[face("f1")], bodies=[body("b1")])
    scene.run(9, start=1, faces=[], bodies=[body("b1")])
    stage = _stage()
    faces_first = [m for m in scene.messages if m.KIND == "faces"] + [m for m in scene.messages if m.KIND == "actions"]
    for message in faces_first:
        stage.process([message])
    assert _tracks(stage) == {"anon-f1": (["f1"], ["b1"])}


def test_a_face_on_a_second_body_seen_at_the_same_time_does_not_join_two_people():
    """Two people one behind the other: the first one's face drifts onto the second body's head
    region while the first body is still in view. Two bodies at once are two people."""
    from tests.scenario import Scene, body, face

    scene = Scene()
    near, far = (280, 90, 360, 400), (480, 90, 560, 400)
    scene.run(1, faces=[face("f1")], bodies=[body("b1", box=near), body("b2", box=far)])
    scene.run(1, start=1, faces=[face("f1", box=(500, 100, 540, 150))], bodies=[body("b1", box=near), body("b2", box=far)])
    stage = _stage()
    for message in scene.messages:
        stage.process([message])
    assert _tracks(stage) == {"anon-f1": (["f1"], ["b1"]), "cam-1:body:b2": ([], ["b2"])}


def test_two_known_people_are_never_joined_by_one_body():
    from tests.scenario import Scene, body, face

    scene = Scene()
    scene.run(1, faces=[face("f1", "known", "Ann")], bodies=[body("b1")])
    scene.run(1, start=1, faces=[face("f2", "known", "Bob")], bodies=[body("b1")])
    stage = _stage()
    for message in scene.messages:
        stage.process([message])
    assert _tracks(stage) == {"p-ann": (["f1"], ["b1"]), "p-bob": (["f2"], [])}


@pytest.mark.parametrize("bodies_first", [False, True])
def test_each_photo_joins_its_face_and_body_and_no_photo_takes_over_the_one_before(bodies_first):
    """Stills: one frame is all a photo has, and the stranger of the next photo standing where
    the last one stood is somebody else, whichever topic comes first."""
    from schemas import ActionsMsg, FacesMsg
    from tests.scenario import T0, body, face

    faces, bodies = [], []
    for seq, who in ((1, "a"), (2, "b"), (3, "c")):
        ts = T0 + seq
        bodies.append(ActionsMsg("photos", seq, ts, 640, 480, [body(f"p{seq}/1")], still=True))
        faces.append(FacesMsg("photos", seq, ts, 640, 480, [face(f"s{seq}/1", person_id=f"anon-{who}")], still=True))
    messages = bodies + faces if bodies_first else [m for pair in zip(bodies, faces) for m in pair]
    stage = _stage()
    for message in messages:
        stage.process([message])
    assert _tracks(stage) == {"anon-a": (["s1/1"], ["p1/1"]), "anon-b": (["s2/1"], ["p2/1"]), "anon-c": (["s3/1"], ["p3/1"])}


def test_head_keypoints_pick_the_body_when_two_boxes_hold_the_face():
    from aggregator.fusion import body_of_face
    from schemas import PersonAction

    face_box = [300, 100, 340, 150]
    front = PersonAction("front", [270, 90, 370, 400], "standing", 0.9, keypoints=[[320, 125, 0.9], [312, 118, 0.8], [328, 118, 0.8]])
    behind = PersonAction("behind", [280, 80, 380, 380], "standing", 0.9, keypoints=[[355, 60, 0.9], [350, 55, 0.8], [360, 55, 0.8]])
    assert body_of_face(face_box, [front, behind], 0.35) is front
    plain = [PersonAction("x", front.box, "standing", 0.9), PersonAction("y", behind.box, "standing", 0.9)]
    assert body_of_face(face_box, plain, 0.35) is None, "two boxes, no keypoints: undecided"


def test_the_record_a_person_became_names_the_records_it_absorbed():
    from tests.scenario import Scene, body, face

    scene = Scene()
    scene.run(1, faces=[face("f1", "pending")], bodies=[body("b1")])
    scene.run(1, start=1, faces=[face("f1", "known", "Ann")], bodies=[body("b1")])
    stage = _stage()
    events = []
    for message in scene.messages:
        events.extend(stage.process([message]))
    assert _tracks(stage) == {"p-ann": (["f1"], ["b1"])}
    earlier = {e.person_id for e in events} - {"p-ann"}
    assert earlier and earlier <= set(stage.persons["p-ann"].merged), "every id an event carried leads to Ann"


def test_the_fight_region_entry_takes_in_no_face_and_no_new_body():
    """The action stage reports a fight where it found nobody as a region entry (``cam-1/fight``):
    a face inside that region, or a body appearing where it was, is still a person of its own."""
    from tests.scenario import Scene, body, face

    region = (200, 50, 500, 450)
    scene = Scene()
    scene.run(1, faces=[face("f1")], bodies=[body("cam-1/fight", "fighting", box=region)])
    stage = _stage()
    for message in scene.messages:
        stage.process([message])
    assert _tracks(stage) == {"anon-f1": (["f1"], []), "cam-1:body:cam-1/fight": ([], ["cam-1/fight"])}

    later = Scene(camera="cam-2")
    later.run(1, faces=[], bodies=[body("cam-2/fight", "fighting", box=region)])
    later.run(1, start=1.6, faces=[], bodies=[body("b2", box=region)])
    for message in later.messages:
        stage.process([message])
    assert _tracks(stage)["cam-2:body:b2"] == ([], ["b2"])
