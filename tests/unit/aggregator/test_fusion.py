"""Which face belongs to which body (constructed boxes and keypoints)."""


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
